"""Push to phones: whether an item may be pushed, and queueing it.

The sending (devices, the provider, what a redelivered task must not send twice) is
``delivery.push_send``'s. ``push_allowed`` is asked when an item is made or grows, by the service holding its
row; it decides by the recipient's push preference (likeness kinds always push) and, for a grouped
item, by the rate limit: its first actor pushes, then at most one push per
``NOTIFICATIONS_GROUP_PUSH_INTERVAL_S`` counted from the last queued one (``push_queued_at``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from backend.core import outbox
from notifications import selectors, tasks
from notifications.models import GROUPED, Channel, Notification


def push_allowed(notification: Notification) -> bool:
    if not selectors.preference_enabled(
        user_id=notification.recipient_id, kind=notification.kind, channel=Channel.PUSH
    ):
        return False
    if notification.kind in GROUPED and notification.push_queued_at is not None:
        interval = timedelta(seconds=settings.NOTIFICATIONS_GROUP_PUSH_INTERVAL_S)
        return timezone.now() - notification.push_queued_at >= interval
    return True


def push_queue(notification: Notification) -> None:
    """Send the item's push after the caller's transaction commits. The caller holds the item's row."""
    notification.push_queued_at = timezone.now()
    notification.save(update_fields=["push_queued_at"])
    outbox.enqueue(tasks.push_send, notification_id=notification.id)
