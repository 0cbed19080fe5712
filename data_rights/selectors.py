"""Reads of data_rights: a person's exports, and the accounts and cameos whose data is due to go."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.errors import NotFound
from backend.creators.models import User
from data_rights.models import DataExport

_LINK_SALT = "data_rights.export_download"


def exports_of(*, user: User) -> QuerySet[DataExport]:
    return DataExport.objects.filter(user=user).order_by("-created_at", "-id")


def export_link_token(*, export: DataExport) -> str:
    """The token of the download link mailed to the owner: signed, naming the export and its owner."""
    return signing.dumps({"export": export.id, "user": export.user_id}, salt=_LINK_SALT)


def export_for_download(*, viewer: User, export_id: int, token: str) -> DataExport:
    """The ready export a link opens: the signature good and younger than the link's lifetime, naming this
    export and this viewer, the export still there. Anything else is 404, like an export that never was."""
    max_age = timedelta(days=settings.DATA_EXPORT_LINK_DAYS)
    try:
        claims = signing.loads(token, salt=_LINK_SALT, max_age=max_age)
    except signing.BadSignature:
        raise NotFound(_("No such export.")) from None
    if claims != {"export": export_id, "user": viewer.id}:
        raise NotFound(_("No such export."))
    export = DataExport.objects.filter(id=export_id, user=viewer, status=DataExport.Status.READY).first()
    if export is None or export.expires_at is None or export.expires_at <= timezone.now():
        raise NotFound(_("No such export."))
    return export


def accounts_purge_due() -> QuerySet[User]:
    """Accounts whose deletion was asked for more than ``ACCOUNT_PURGE_DAYS`` ago and are not purged yet."""
    cutoff = timezone.now() - timedelta(days=settings.ACCOUNT_PURGE_DAYS)
    return User.objects.filter(deletion_requested_at__lt=cutoff, purged_at__isnull=True).order_by("id")


def exports_expired() -> QuerySet[DataExport]:
    return DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=timezone.now()).order_by("id")
