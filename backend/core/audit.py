"""The audit trail: every moderator, staff and owner action on someone's content is recorded here."""

from __future__ import annotations

from django.db import models

from backend.core.models import AuditLogEntry


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLogEntry:
    """Append one entry (in the caller's transaction, so it exists only if the action does)."""
    return AuditLogEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        reason=reason[:500],
        before=before or {},
        after=after or {},
    )
