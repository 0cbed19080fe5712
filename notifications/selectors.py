"""Reads of the inbox, always for the person asking: their items, their unread count, their preferences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.cursors import InvalidCursor, cursor_read, cursor_sign
from backend.core.errors import NotFound
from backend.creators.models import Block, User
from notifications.models import MANDATORY, Channel, Kind, Notification, Preference

INBOX_PAGE = 20
_CURSOR_SALT = "notifications.inbox"


@dataclass
class InboxPage:
    # Each item carries ``actors``: the users of its ``actor_ids`` the viewer may still see, newest first.
    items: list[Notification]
    next: str | None


def preference_enabled(*, user_id: int, kind: str, channel: str) -> bool:
    """Whether ``kind`` reaches ``user_id`` on ``channel``: on unless switched off; likeness kinds always."""
    if kind in MANDATORY:
        return True
    enabled = Preference.objects.filter(user_id=user_id, kind=kind, channel=channel).values_list("enabled", flat=True)
    return next(iter(enabled), True)


def preferences(*, user: User) -> list[dict]:
    """Every kind on every channel, with whether it is on and whether it may be switched off."""
    stored = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list("kind", "channel", "enabled")
    }
    return [
        {
            "kind": kind.value,
            "channel": channel.value,
            "enabled": kind in MANDATORY or stored.get((kind.value, channel.value), True),
            "mandatory": kind in MANDATORY,
        }
        for kind in Kind
        for channel in Channel
    ]


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_of(*, user: User, notification_id: int) -> Notification:
    """One of ``user``'s items; 404 for anyone else's, exactly as for one that does not exist."""
    notification = Notification.objects.filter(recipient=user, id=notification_id).first()
    if notification is None:
        raise NotFound(_("No such notification."))
    return notification


def inbox(*, user: User, cursor: str | None, limit: int = INBOX_PAGE) -> InboxPage:
    """A page of ``user``'s items, the most recently changed first, after ``cursor`` (None: the first page).

    Two queries whatever the page holds: the items, then their actors. An actor who was deactivated, or
    is blocked either way with ``user``, is left out of the display; an item whose every actor is left
    out is not shown.
    """
    items = Notification.objects.filter(recipient=user).order_by("-updated_at", "-id")
    if cursor:
        updated_at, last_id = _cursor_position(cursor)
        items = items.filter(Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, id__lt=last_id))
    rows = list(items[: limit + 1])
    page, more = rows[:limit], len(rows) > limit
    actors = _actors_shown_to(user=user, ids={actor_id for item in page for actor_id in item.actor_ids})
    shown = []
    for item in page:
        item.actors = [actors[actor_id] for actor_id in item.actor_ids if actor_id in actors]
        if item.actors or not item.actor_ids:
            shown.append(item)
    last = page[-1] if more else None
    next_cursor = cursor_sign([last.updated_at.isoformat(), last.id], salt=_CURSOR_SALT) if last else None
    return InboxPage(items=shown, next=next_cursor)


def _actors_shown_to(*, user: User, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    hidden = Block.objects.filter(Q(blocker_id=user.id) | Q(blocked_id=user.id))
    actors = (
        User.objects.filter(id__in=ids, is_active=True)
        .exclude(id__in=hidden.values("blocker_id"))
        .exclude(id__in=hidden.values("blocked_id"))
        .only("id", "handle", "display_name", "avatar")
    )
    return {actor.id: actor for actor in actors}


def _cursor_position(token: str) -> tuple[datetime, int]:
    payload = cursor_read(token, salt=_CURSOR_SALT)
    try:
        updated_at, last_id = payload
        return datetime.fromisoformat(updated_at), int(last_id)
    except (TypeError, ValueError) as error:
        raise InvalidCursor() from error
