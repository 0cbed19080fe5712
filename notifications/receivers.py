"""Domain events that notify someone: each writes its message to the outbox with the cause.

Every receiver but the grouped ones connects to an event's ``in_transaction`` signal and writes an
outbox message for the task that tells the people concerned (``notifications.tasks``, queue
``notifications``): the message commits or rolls back with the cause, so a process dying right after
the commit loses no notification. Payloads are ids and codes only.

Grouped kinds (a like, a follow) are different: a viral video's storm of likes must not become a storm
of messages, each recounting the same group. Those connect to the event itself (after the commit)
and queue a refresh only when none is pending for that recipient and target (``_group_refresh_soon``).
"""

from __future__ import annotations

import contextlib
import logging

from django.dispatch import receiver
from django_redis import get_redis_connection
from redis import RedisError

from backend.cameos.events import grant_decided, grant_requested, verification_decided
from backend.core import outbox
from backend.creators.events import account_purged, account_suspended, data_export_ready, follow_started
from backend.moderation.events import case_resolved, strike_added
from backend.rights.events import usage_approval_requested
from backend.videos.events import comment_created, video_liked, video_published, video_removed, video_restored
from media.events import render_finished, render_requested
from notifications import services, tasks
from notifications.models import Kind

logger = logging.getLogger(__name__)

# Event → the task that tells the people concerned, called with the event's payload.
_NOTIFY_TASKS = {
    render_requested: tasks.render_requested_notify,
    render_finished: tasks.render_finished_notify,
    grant_requested: tasks.grant_requested_notify,
    grant_decided: tasks.grant_decided_notify,
    verification_decided: tasks.verification_decided_notify,
    video_published: tasks.video_published_notify,
    comment_created: tasks.comment_created_notify,
    video_removed: tasks.video_removed_notify,
    video_restored: tasks.video_restored_notify,
    case_resolved: tasks.case_resolved_notify,
    strike_added: tasks.strike_added_notify,
    account_suspended: tasks.account_suspended_notify,
    usage_approval_requested: tasks.usage_approval_requested_notify,
    data_export_ready: tasks.data_export_ready_notify,
}


def _outbox_writer(task):
    def write(sender, **payload) -> None:
        payload.pop("signal", None)
        outbox.enqueue(task, **payload)

    return write


for _event, _task in _NOTIFY_TASKS.items():
    _event.in_transaction.connect(_outbox_writer(_task), weak=False, dispatch_uid=f"notifications.{_task.name}")


@receiver(account_purged, dispatch_uid="notifications.erase_purged_person")
def erase_purged_person(sender, *, user_id: int, **kwargs) -> None:
    services.person_erase(user_id=user_id)


@receiver(video_liked, dispatch_uid="notifications.like_group_refresh")
def like_group_refresh(sender, *, video_id: int, owner_id: int, liked: bool, **kwargs) -> None:
    if liked:  # an unlike is counted at the next refresh; it is no news
        _group_refresh_soon(recipient_id=owner_id, kind=Kind.LIKE, target_type="video", target_id=video_id)


@receiver(follow_started, dispatch_uid="notifications.follow_group_refresh")
def follow_group_refresh(sender, *, followee_id: int, **kwargs) -> None:
    _group_refresh_soon(recipient_id=followee_id, kind=Kind.FOLLOW, target_type="creator", target_id=followee_id)


def _group_refresh_soon(*, recipient_id: int, kind: Kind, target_type: str, target_id: int) -> None:
    """Queue a refresh of a grouped item unless one is pending already (runs after the cause's commit).

    The race this avoids: a like that finds the mark queues nothing, so it must be sure the pending
    refresh will count it. Hence the mark is set only after the like committed (these receivers run
    on commit), and the task deletes it before it counts: a like that found the mark committed before
    the delete, so the count that follows sees it; a like after the delete sets the mark again and
    queues its own refresh. Deleting after the count instead would let a like landing between the two
    find the mark, queue nothing, and go uncounted until the next like. Setting it inside the like's
    transaction would let a refresh delete it and count before that like is visible. The mark
    expires, so a lost message holds refreshes back for a minute at most.

    Not through the outbox, deliberately: a refresh lost with a crashed process only delays a count
    until the next action on the target, and writing a message per like is what this avoids.
    """
    key = services.pending_refresh_key(
        recipient_id=recipient_id, kind=kind, target_type=target_type, target_id=target_id
    )
    redis = get_redis_connection("default")
    try:
        if not redis.set(key, 1, nx=True, ex=services.GROUP_REFRESH_PENDING_S):
            return  # a refresh is queued and has not counted yet: it will count this one too
    except RedisError:
        logger.warning("notifications: Redis unavailable; refreshing %s without the pending mark", key)
    try:
        tasks.group_refresh.delay(
            recipient_id=recipient_id, kind=kind.value, target_type=target_type, target_id=str(target_id)
        )
    except Exception:  # the cause stands; the next action on the target refreshes the group
        logger.exception("notifications: could not queue the refresh of %s", key)
        with contextlib.suppress(RedisError):  # else it expires
            redis.delete(key)
