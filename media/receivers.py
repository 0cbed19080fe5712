"""Reactions of the media app to other apps' domain events."""

import logging

from django.db import DatabaseError
from django.dispatch import receiver
from django.utils.translation import gettext_noop

from backend.cameos.events import consent_withdrawn
from backend.core import outbox
from backend.creators.events import account_deactivated
from backend.rights.events import character_withdrawn
from backend.videos.events import video_changed, video_hidden, video_published, video_shown
from media import tasks
from media.services import (
    render_jobs_cancel_of_requester,
    render_jobs_cancel_with_character,
    render_jobs_recheck_cameo,
)
from media.video_files import video_files_sync_many

logger = logging.getLogger(__name__)


@receiver(consent_withdrawn, dispatch_uid="media.cancel_renders_on_consent_withdrawn")
def cancel_renders_on_consent_withdrawn(sender, *, cameo_id: int, **kwargs) -> None:
    # Synchronous on purpose: revocation must stop queued jobs at once, and a
    # running job sees the cancellation at its next stage boundary.
    render_jobs_recheck_cameo(cameo_id=cameo_id)


@receiver(account_deactivated, dispatch_uid="media.cancel_renders_of_deactivated_account")
def cancel_renders_of_deactivated_account(sender, *, user_id: int, **kwargs) -> None:
    # Their own renders; renders by others with their cameos stop through ``consent_withdrawn``.
    # A cancelled render is not resumed if the account is restored.
    render_jobs_cancel_of_requester(
        requester_id=user_id, reason="account_deactivated", message=gettext_noop("The account is being deleted.")
    )


@receiver(character_withdrawn, dispatch_uid="media.cancel_renders_on_character_withdrawn")
def cancel_renders_on_character_withdrawn(sender, *, character_id: int, requester_id: int | None, **kwargs) -> None:
    render_jobs_cancel_with_character(character_id=character_id, requester_id=requester_id)


@receiver([video_published, video_changed, video_hidden, video_shown], dispatch_uid="media.video_files_follow_state")
def video_files_follow_state(sender, *, video_ids: list[int] | None = None, video_id: int | None = None, **kwargs):
    # Synchronous on purpose: a removed, withdrawn or narrowed video's public files stop being served
    # in the same step that takes it out of feeds (whose receivers run first: tombstones are cheap).
    video_ids = video_ids if video_ids is not None else [video_id]
    try:
        video_files_sync_many(video_ids=video_ids)
    except Exception:
        # The change is committed: a failing move must not turn it into an error, nor keep the
        # receivers after this one (feeds) from running. A worker retries; beat's repair sweep
        # (``media.video_files_repair``) catches whatever is left.
        logger.exception("videos %s: moving their files failed; queued a retry", video_ids[:20])
        try:
            outbox.enqueue(tasks.video_files_sync_many, video_ids=video_ids)
        except DatabaseError:
            logger.exception("videos %s: could not queue the retry; beat's repair will", video_ids[:20])
