from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditLogEntry(models.Model):
    """Append-only: who did what to which object, when, why, and what changed.

    The target is named by label and primary key, not by a foreign key: the entry outlives the
    object (a deleted cameo's audit trail stays), and every app writes here from the bottom layer.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")  # fmt: skip
    action = models.CharField(max_length=60, db_index=True)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "moderation_auditlogentry"  # moved here from moderation; the table stayed
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class OutboxMessage(models.Model):
    """A Celery task that must run, written in the same transaction as the change that calls for it.

    ``backend.core.outbox`` sends it after the commit and deletes it once the broker took it; while
    the broker is away the row waits and the relay (``manage.py outbox_relay``) sends it when it
    returns. Consumers are idempotent, so a message sent twice (a crash between send and delete)
    does no harm.
    """

    task = models.CharField(max_length=100)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # The request (or task) that wrote it: the relay sends the message under this id, so the task's
    # logs name the request that caused it however late it runs (backend/core/logs.py).
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}({self.kwargs})"
