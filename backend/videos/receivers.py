"""Reactions of videos to the events of the apps below it (creators, cameos, rights)."""

from django.dispatch import receiver

from backend.cameos.events import appearances_taken_down, consent_withdrawn
from backend.cameos.selectors import videos_now_refused
from backend.creators.events import account_deactivated, account_restored
from backend.rights.events import character_taken_down
from backend.videos.models import Video
from backend.videos.services import (
    video_remove,
    videos_consent_withdrawal_lift,
    videos_mark_consent_withdrawn,
    videos_owner_standing_changed,
)


@receiver(consent_withdrawn, dispatch_uid="videos.hide_videos_on_consent_withdrawn")
def hide_videos_on_consent_withdrawn(sender, *, cameo_id: int, user_id: int | None = None, **kwargs) -> None:
    """Videos whose creator may no longer use the cameo are withdrawn at once (and what embeds them)."""
    withdrawn = videos_now_refused(cameo_id=cameo_id, creator_id=user_id)
    if withdrawn:
        videos_mark_consent_withdrawn(video_ids=withdrawn)


@receiver(appearances_taken_down, dispatch_uid="videos.remove_videos_taken_down_by_a_cameo_owner")
def remove_videos_taken_down_by_a_cameo_owner(sender, *, video_ids: list[int], by, reason: str, **kwargs) -> None:
    for video in Video.objects.filter(id__in=video_ids).order_by("id"):
        video_remove(video=video, by=by, reason=reason)


@receiver(character_taken_down, dispatch_uid="videos.remove_videos_using_a_taken_down_character")
def remove_videos_using_a_taken_down_character(sender, *, character_id: int, by, reason: str, **kwargs) -> int:
    """Returns how many published videos came down (the rights service records it in the audit)."""
    videos = Video.objects.filter(character_links__character_id=character_id, status=Video.Status.PUBLISHED)
    removed = 0
    for video in videos.order_by("id"):
        video_remove(video=video, by=by, reason=reason)
        removed += 1
    return removed


@receiver(account_deactivated, dispatch_uid="videos.hide_videos_of_deactivated_account")
def hide_videos_of_deactivated_account(sender, *, user_id: int, **kwargs) -> None:
    # Others' videos with their likeness are withdrawn through ``consent_withdrawn`` (cameos' receiver).
    videos_owner_standing_changed(owner_id=user_id, shown=False)


@receiver(account_restored, dispatch_uid="videos.show_videos_of_restored_account")
def show_videos_of_restored_account(sender, *, user_id: int, deactivated_at, **kwargs) -> None:
    videos_owner_standing_changed(owner_id=user_id, shown=True)
    videos_consent_withdrawal_lift(cameo_owner_id=user_id, since=deactivated_at)
