"""Every write of the inbox: items made and grouped, read, preferences.

Contract for the rest of the code (receivers call these through tasks on the ``notifications``
queue, never in a request):

- ``notify(...)``: one item per event (its ``key`` is the event's identity); a redelivered event
  finds the item there and does nothing.
- ``group_refresh(...)``: the grouped item of a target ("maya and 41 others liked your video"),
  recomputed from the source rows (likes, follows, remixes) since the recipient last read it;
  running it twice changes nothing.
Both skip a recipient who is inactive, the actor themself, anyone blocked either way with the actor,
and a kind the recipient switched off for the inbox (likeness kinds cannot be); they queue a push
(through the outbox, in the same transaction) when the recipient's push preference allows it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Max, QuerySet, Value, When, Window
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.errors import DomainError
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import is_blocked_between
from backend.videos.models import Like, Video
from notifications import push, selectors
from notifications.models import GROUPED, MANDATORY, Channel, Device, Kind, Notification, Preference

# How many actors a grouped item names ("maya, leo and 40 others").
GROUP_ACTORS_SHOWN = 3


@transaction.atomic
def notify(
    *,
    recipient_id: int,
    kind: Kind,
    key: str,
    target_type: str,
    target_id: int | str,
    deep_link: str,
    actor_id: int | None = None,
    data: dict | None = None,
) -> Notification | None:
    """The item of one event for ``recipient_id``; the existing one when the event comes again, None when skipped.

    ``key`` names the event (``grant:17``), so the item is unique per (recipient, kind, key). Grouped
    kinds go through ``group_refresh``.
    """
    kind = Kind(kind)
    if kind in GROUPED:
        raise ValueError(f"{kind} groups: call group_refresh")
    if actor_id == recipient_id or not _recipient_handle(recipient_id, kind):
        return None
    if actor_id is not None and is_blocked_between(actor_id, recipient_id):
        return None
    notification, created = Notification.objects.get_or_create(
        recipient_id=recipient_id,
        group_key=f"{kind}:{key}",
        defaults={
            "kind": kind,
            "actor_ids": [actor_id] if actor_id else [],
            "actor_count": 1 if actor_id else 0,
            "target_type": target_type,
            "target_id": str(target_id),
            "deep_link": deep_link,
            "data": data or {},
        },
    )
    if created:
        _push_if_allowed(notification)
    return notification


@transaction.atomic
def group_refresh(*, recipient_id: int, kind: Kind, target_type: str, target_id: int | str) -> Notification | None:
    """The grouped item of ``kind`` on a target, counted again from its source rows; None when there is none.

    Counts the distinct actors since the item was last read (all of them for a new item), leaving out
    the recipient and anyone blocked either way with them, and names the newest few. When someone new
    acted, the item moves to the top, becomes unread again and may push; when nobody did, nothing is
    written. A constant number of queries, however many actors: one row per (recipient, target).

    Challenge entries do not group yet: a challenge (a hashtag) has no owner to tell.
    """
    kind = Kind(kind)
    if kind not in GROUPED:
        raise ValueError(f"{kind} does not group: call notify")
    if kind == Kind.CHALLENGE_ENTRY:
        return None
    handle = _recipient_handle(recipient_id, kind)
    if not handle:
        return None
    target_id = str(target_id)
    group_key = f"{kind}:{target_type}:{target_id}"
    notification = _group_locked(recipient_id, group_key)
    if notification is None:
        count, newest = _group_actors(kind, recipient_id=recipient_id, target_id=target_id, since=None)
        if not count:
            return None
        notification = _group_create(
            recipient_id=recipient_id,
            kind=kind,
            group_key=group_key,
            target_type=target_type,
            target_id=target_id,
            deep_link=_group_deep_link(kind, target_id=target_id, recipient_handle=handle),
            count=count,
            newest=newest,
        )
        if notification is not None:
            _push_if_allowed(notification)
            return notification
        # Another worker made it meanwhile: count again under its lock.
        notification = _group_locked(recipient_id, group_key)
    count, newest = _group_actors(kind, recipient_id=recipient_id, target_id=target_id, since=notification.group_since)
    if _group_update(notification, count=count, newest=newest):
        _push_if_allowed(notification)
    return notification


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None) -> int:
    """Mark ``user``'s items read (all of them when ``ids`` is None); returns how many were unread.

    A grouped item starts a new group: from now on it counts only who acts after this read. Ids of
    someone else's items, or of none, are ignored.
    """
    now = timezone.now()
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    return unread.update(
        read_at=now,
        group_since=Case(When(kind__in=GROUPED, then=Value(now)), default=F("group_since")),
    )


class MandatoryKind(DomainError):
    default_code = "notification_kind_mandatory"
    default_detail = _("Notifications of every use of your likeness cannot be switched off.")


@transaction.atomic
def preferences_set(*, user: User, changes: list[tuple[str, str, bool]]) -> None:
    """Switch kinds on or off per channel; all or nothing. Likeness kinds cannot be switched off."""
    wanted: dict[tuple[str, str], bool] = {}
    for kind, channel, enabled in changes:
        if kind not in Kind.values:
            raise DomainError(
                _("Unknown notification kind “%(kind)s”.") % {"kind": kind}, code="notification_kind_unknown"
            )
        if channel not in Channel.values:
            raise DomainError(
                _("Unknown channel “%(channel)s”.") % {"channel": channel}, code="notification_channel_unknown"
            )
        if kind in MANDATORY:
            if not enabled:
                raise MandatoryKind(details={"kind": kind, "channel": channel})
            continue  # always on: nothing to store
        wanted[(kind, channel)] = enabled
    Preference.objects.bulk_create(
        [Preference(user=user, kind=kind, channel=channel, enabled=on) for (kind, channel), on in wanted.items()],
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled"],
    )


def _recipient_handle(recipient_id: int, kind: Kind) -> str | None:
    """The recipient's handle when ``kind`` may reach their inbox (an active account that has it on)."""
    handle = User.objects.filter(id=recipient_id, is_active=True).values_list("handle", flat=True).first()
    if handle and selectors.preference_enabled(user_id=recipient_id, kind=kind, channel=Channel.INBOX):
        return handle
    return None


def _push_if_allowed(notification: Notification) -> None:
    if push.push_allowed(notification):
        push.push_queue(notification)


def _group_locked(recipient_id: int, group_key: str) -> Notification | None:
    return Notification.objects.select_for_update().filter(recipient_id=recipient_id, group_key=group_key).first()


def _group_create(*, count: int, newest: list[int], **fields) -> Notification | None:
    """The new grouped item; None when another worker created it first."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on after a conflict
            return Notification.objects.create(actor_count=count, actor_ids=newest, **fields)
    except IntegrityError:
        return None


def _group_update(notification: Notification, *, count: int, newest: list[int]) -> bool:
    """Write the counted group on the locked item; True when someone new acted (the item is news again)."""
    if not count:
        return False  # nobody since it was read (or every actor left): it stays as it was
    was_read = notification.read_at is not None
    someone_new = was_read or count > notification.actor_count or newest[0] not in notification.actor_ids
    if someone_new:
        notification.actor_count, notification.actor_ids = count, newest
        notification.updated_at, notification.read_at = timezone.now(), None
        notification.save(update_fields=["actor_count", "actor_ids", "updated_at", "read_at"])
        return True
    if (count, newest) != (notification.actor_count, notification.actor_ids):  # someone left: fewer, same place
        notification.actor_count, notification.actor_ids = count, newest
        notification.save(update_fields=["actor_count", "actor_ids"])
    return False


def _group_actors(kind: Kind, *, recipient_id: int, target_id: str, since) -> tuple[int, list[int]]:
    """How many distinct people acted on the target since ``since`` (None: ever), and the newest few, in one query.

    The recipient's own actions, and those of anyone blocked either way with them, do not count. Only
    the recipient's own target counts (their video, themself), whoever the caller names.
    """
    actor, at, rows = _GROUP_SOURCES[kind](recipient_id=recipient_id, target_id=target_id)
    if since is not None:
        rows = rows.filter(**{f"{at}__gt": since})
    rows = (
        rows.exclude(**{actor: recipient_id})
        .exclude(**{f"{actor}__in": Block.objects.filter(blocker_id=recipient_id).values("blocked_id")})
        .exclude(**{f"{actor}__in": Block.objects.filter(blocked_id=recipient_id).values("blocker_id")})
    )
    newest = list(
        rows.values(actor)
        .annotate(last=Max(at), total=Window(Count("*")))
        .order_by("-last", f"-{actor}")
        .values_list(actor, "total")[:GROUP_ACTORS_SHOWN]
    )
    return (newest[0][1] if newest else 0), [actor_id for actor_id, _ in newest]


def _likes(*, recipient_id: int, target_id: str) -> tuple[str, str, QuerySet]:
    return "user_id", "created_at", Like.objects.filter(video_id=target_id, video__owner_id=recipient_id)


def _follows(*, recipient_id: int, target_id: str) -> tuple[str, str, QuerySet]:
    return "follower_id", "created_at", Follow.objects.filter(followee_id=recipient_id).filter(followee_id=target_id)


def _remixes(*, recipient_id: int, target_id: str) -> tuple[str, str, QuerySet]:
    # Only remixes anyone may see: the item names their creators to the source's owner.
    remixes = Video.objects.shown_to_everyone().filter(parent_id=target_id, parent__owner_id=recipient_id)
    return "owner_id", "published_at", remixes


# Each grouped kind's source rows: (the actor's column, the moment's column, the rows on the target).
_GROUP_SOURCES = {Kind.LIKE: _likes, Kind.FOLLOW: _follows, Kind.REMIX: _remixes}


def _group_deep_link(kind: Kind, *, target_id: str, recipient_handle: str) -> str:
    if kind == Kind.FOLLOW:
        return f"/creators/{recipient_handle}/followers"
    return f"/videos/{target_id}"


@transaction.atomic
def person_erase(*, user_id: int) -> None:
    """A purge: the account's devices (push tokens), notification settings and inbox go. Idempotent."""
    Device.objects.filter(user_id=user_id).delete()
    Preference.objects.filter(user_id=user_id).delete()
    Notification.objects.filter(recipient_id=user_id).delete()
