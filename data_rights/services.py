"""Every write of data_rights: exports asked for and built, accounts and deleted cameos purged.

A purge erases, it does not hide: personal data leaves the account's row, and every stored file of the
account leaves both stores (local disk or S3). Each step calls the owning app's service and is idempotent,
so a purge that died half-way is finished by the next run, and a finished one is not run again.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors as cameo_selectors
from backend.cameos import services as cameo_services
from backend.cameos.models import Cameo
from backend.core import outbox, storage
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError
from backend.core.mail import mail_queue
from backend.creators import services as creator_services
from backend.creators.events import data_export_ready
from backend.creators.models import User
from backend.videos import services as video_services
from data_rights import selectors, tasks
from data_rights.archive import archive_write
from data_rights.models import AccountPurge, DataExport
from feeds import services as feed_services
from media import services as media_services
from media.video_files import video_files_erase

logger = logging.getLogger(__name__)


# --- Exports ------------------------------------------------------------------


class ExportRateLimited(DomainError):
    status_code = 429
    default_code = "export_rate_limited"
    default_detail = _("You have asked for enough exports today.")


@transaction.atomic
def export_request(*, user: User) -> DataExport:
    """Queue an export of ``user``'s data. One at a time (409 ``export_in_progress``), and at most
    ``DATA_EXPORTS_PER_DAY`` a day (429 ``export_rate_limited``)."""
    User.objects.select_for_update().filter(id=user.id).first()  # serialise requests per person
    mine = DataExport.objects.filter(user=user)
    if mine.filter(status__in=DataExport.IN_PROGRESS).exists():
        raise Conflict(_("An export of your data is being prepared."), code="export_in_progress")
    if mine.filter(created_at__gt=timezone.now() - timedelta(days=1)).count() >= settings.DATA_EXPORTS_PER_DAY:
        raise ExportRateLimited(details={"per_day": settings.DATA_EXPORTS_PER_DAY})
    export = DataExport.objects.create(user=user)
    outbox.enqueue(tasks.export_build, export_id=export.id)
    return export


def export_build(*, export_id: int) -> None:
    """Write the archive to the private store, then tell the owner where to fetch it. A redelivered message
    for an export that is ready (or failed, or expired) does nothing; one for an export a dead worker was
    building builds it again, under the same name."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("user").get(id=export_id)
        if export.status not in DataExport.IN_PROGRESS:
            return
        export.status = DataExport.Status.RUNNING
        export.save(update_fields=["status"])
    name = f"exports/{export.user_id}/remix-export-{export.id}.zip"
    try:
        with tempfile.TemporaryDirectory(prefix="remix-export-") as folder:
            path = Path(folder) / "export.zip"
            archive_write(user=export.user, path=path)
            size = path.stat().st_size
            storage.upload(storage.private(), path, name)
    except Exception as error:
        logger.exception("export %s failed", export_id)
        DataExport.objects.filter(id=export_id).update(
            status=DataExport.Status.FAILED, error=f"{type(error).__name__}"[:300], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("user").get(id=export_id)
        now = timezone.now()
        export.status = DataExport.Status.READY
        export.file_name, export.size_bytes = name, size
        export.finished_at, export.expires_at = now, now + timedelta(days=settings.DATA_EXPORT_LINK_DAYS)
        export.save(update_fields=["status", "file_name", "size_bytes", "finished_at", "expires_at"])
        _export_ready_tell(export)
        data_export_ready.send_on_commit(user_id=export.user_id, export_id=export.id)


def export_download_url(*, export: DataExport) -> str:
    path = reverse("me-export-download", kwargs={"export_id": export.id})
    return f"{settings.APP_URL}{path}?token={selectors.export_link_token(export=export)}"


def _export_ready_tell(export: DataExport) -> None:
    """The mail with the signed link, written to the outbox with the export's new state."""
    user = export.user
    mail_queue(
        to=user.email,
        template="data_rights/mail/export_ready",
        context={
            "handle": user.handle,
            "link": export_download_url(export=export),
            "expires_at": export.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            "days": settings.DATA_EXPORT_LINK_DAYS,
        },
        language=user.language,
    )


# An export still queued or running after this lost its worker and its message: it no longer blocks a new one.
EXPORT_STALLED_AFTER = timedelta(hours=6)


def exports_expire() -> int:
    """Delete the files of exports whose link ran out; how many. Exports stalled in progress fail. Idempotent."""
    DataExport.objects.filter(
        status__in=DataExport.IN_PROGRESS, created_at__lt=timezone.now() - EXPORT_STALLED_AFTER
    ).update(status=DataExport.Status.FAILED, error="stalled", finished_at=timezone.now())
    expired = 0
    for export_id in selectors.exports_expired().values_list("id", flat=True):
        with transaction.atomic():
            export = DataExport.objects.select_for_update().get(id=export_id)
            if export.status != DataExport.Status.READY:
                continue
            storage.private().delete(export.file_name)
            export.status, export.file_name = DataExport.Status.EXPIRED, ""
            export.save(update_fields=["status", "file_name"])
            expired += 1
    return expired


# --- Purges -------------------------------------------------------------------


class PurgeRefused(DomainError):
    status_code = 409
    default_code = "purge_refused"
    default_detail = _("Only an account whose deletion was asked for can be purged.")


def account_purge(*, user: User, by: User | None = None, reason: str = "") -> AccountPurge:
    """Erase an account whose owner asked for its deletion: ``by`` an operator now (a legal request), or by
    beat once ``ACCOUNT_PURGE_DAYS`` have passed (``by`` None).

    - its cameos are deleted (others' videos with them come down) and every file under them erased;
    - its videos come down by its own hand, so they stay as tombstones and others' remixes keep their
      attribution; their files leave both stores, their prompts and captions are erased;
    - the files of others' videos that showed its likeness (taken down with its cameos) are erased too;
    - its render jobs lose prompts, directions and files; its comments, likes, exports, feed steering, and the
      grants it asked for on others' cameos go; its follows and blocks end either way (others' counts follow);
      its devices, notification settings and inbox go with the account's erasure (``account_purged``);
    - the account keeps its row (tombstones and the revenue ledger point at it, amounts unchanged) but
      nothing personal: ``creators.account_personal_data_erase``.

    Idempotent: a purged account is not purged again; a purge that died half-way starts over and does
    what is missing. Audited.
    """
    user = User.objects.get(id=user.id)
    if user.purged_at is not None:
        return AccountPurge.objects.get(user_id=user.id)
    # An operator's "purge now" may meet the owner signing in: whichever takes the row lock first wins.
    if not creator_services.account_purge_begin(user=user):
        raise PurgeRefused()
    user.refresh_from_db()
    removed = {"cameos": 0}  # counts only: the record keeps nothing personal
    for cameo in Cameo.objects.filter(owner=user).exclude(status=Cameo.Status.DELETED).order_by("id"):
        cameo_services.cameo_delete(cameo=cameo, by=user)
        removed["cameos"] += 1
    cameo_ids = list(Cameo.objects.filter(owner=user).order_by("id").values_list("id", flat=True))
    removed["cameo_files"] = sum(cameo_services.cameo_media_purge(cameo_id=cameo_id) for cameo_id in cameo_ids)
    video_ids = video_services.videos_of_owner_erase(owner=user)
    removed["videos"] = len(video_ids)
    removed["video_files"] = video_files_erase(video_ids=video_ids)
    likeness_ids = sorted(
        set(cameo_selectors.videos_with_cameos_of(owner_id=user.id).values_list("video_id", flat=True)) - set(video_ids)
    )
    removed["likeness_videos"] = len(likeness_ids)
    removed["video_files"] += video_files_erase(video_ids=likeness_ids)
    removed["render_files"] = media_services.render_jobs_erase(requester_id=user.id)
    removed["comments"] = video_services.comments_of_author_delete(author_id=user.id)
    removed["likes"] = video_services.likes_of_user_delete(user_id=user.id)
    removed.update(creator_services.account_ties_end(user_id=user.id))
    removed["grants"] = cameo_services.grants_of_grantee_delete(grantee_id=user.id)
    removed["feed_preferences"] = feed_services.preferences_delete(user_id=user.id)
    removed["exports"] = _exports_erase(user_id=user.id)
    removed["avatar_files"] = _avatar_erase(user)
    with transaction.atomic():
        requested_at = user.deletion_requested_at
        creator_services.account_personal_data_erase(user=user)
        purge = AccountPurge.objects.create(
            user_id=user.id, requested_at=requested_at, by=by, reason=reason[:300], removed=removed
        )
        audit_record(actor=by, action="account.purge", target=user, reason=reason or "deletion grace period over",
                     after=removed)  # fmt: skip
    return purge


def _avatar_erase(user: User) -> int:
    """Avatars live under ``avatars/<user id>/`` (``creators.profile_update``); an older one may not."""
    erased = storage.delete_under(storage.public(), f"avatars/{user.id}")
    if user.avatar and storage.public().exists(user.avatar.name):
        storage.public().delete(user.avatar.name)
        erased += 1
    return erased


def _exports_erase(*, user_id: int) -> int:
    erased = storage.delete_under(storage.private(), f"exports/{user_id}")
    DataExport.objects.filter(user_id=user_id).delete()
    return erased


def accounts_purge_due() -> int:
    """Beat: purge every account whose grace period is over; how many. One failing does not stop the others."""
    purged = 0
    for user in selectors.accounts_purge_due():
        try:
            account_purge(user=user)
        except Exception:
            logger.exception("account %s: purge failed; the next run tries again", user.id)
        else:
            purged += 1
    return purged


def cameos_media_purge_due() -> int:
    """Beat: erase the files of cameos deleted more than ``CAMEO_PURGE_DAYS`` ago; how many cameos."""
    cutoff = timezone.now() - timedelta(days=settings.CAMEO_PURGE_DAYS)
    purged = 0
    for cameo_id in cameo_selectors.cameos_media_purge_due(deleted_before=cutoff).values_list("id", flat=True):
        cameo_services.cameo_media_purge(cameo_id=cameo_id)
        purged += 1
    return purged
