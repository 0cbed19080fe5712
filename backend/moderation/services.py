"""Moderation writes: the audit trail and prompt policy."""

from __future__ import annotations

from django.db import models

from backend.core.errors import DomainError
from backend.moderation.models import AuditLogEntry, BlockedTerm


class PromptRefused(DomainError):
    status_code = 403
    default_code = "prompt_blocked"
    default_detail = "This prompt is not allowed."


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


def prompt_blocklist_check(*, text: str) -> None:
    from backend.cameos.selectors import normalize_name_text

    haystack = f" {normalize_name_text(text)} "
    for term in BlockedTerm.objects.filter(is_active=True).values_list("term", flat=True):
        needle = normalize_name_text(term)
        if needle and f" {needle} " in haystack:
            raise PromptRefused("This prompt uses a blocked term.", details={"term": term})
