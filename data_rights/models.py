"""A person's rights over their data: a copy of it (exports), and its erasure (account purges)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from backend.creators.models import User


class DataExport(models.Model):
    """One zip of everything a person gave or made here, written by a worker to the private store."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (file deleted)"

    IN_PROGRESS = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(max_length=300, blank=True, help_text="Private storage name.")
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The download link works until then; the file is deleted after it (``data_rights.exports_expire``).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one export in progress per person (``export_request`` answers 409 before this).
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status__in=["queued", "running"]), name="one_export_in_progress"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="export_user_recent")]

    def __str__(self) -> str:
        return f"export {self.id} of {self.user_id} ({self.status})"


class AccountPurge(models.Model):
    """The record that an account's data was erased: when, by whom, and how much (counts, nothing personal)."""

    user_id = models.BigIntegerField(unique=True, help_text="The purged account's id (the row stays, anonymous).")
    requested_at = models.DateTimeField(help_text="When its owner asked for the deletion.")
    purged_at = models.DateTimeField(default=timezone.now)
    # The operator who ran it now (a legal request); empty when the grace period ran out (beat).
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    removed = models.JSONField(default=dict, help_text="What was removed, as counts.")

    def __str__(self) -> str:
        return f"purge of account {self.user_id} at {self.purged_at:%Y-%m-%d %H:%M}"


class PendingDeletion(User):
    """Accounts whose owners asked for deletion and that are not purged yet (the admin's list)."""

    class Meta:
        proxy = True
        verbose_name = "pending account deletion"
