"""Videos appear in and vanish from feeds as their state changes.

Receivers run after the change committed, inside the request or task that made it, except what
must survive the process dying right after the commit: the fan-out's message and a removal's repair
are written with the change. A Redis outage must not turn that committed
change into an error: a receiver whose Redis write fails records what it missed (``RedisRepair``,
in PostgreSQL) and lets the request succeed; beat puts it right within seconds of Redis coming back
(``services.redis_repairs_apply``), and meanwhile serving re-reads PostgreSQL.
"""

import functools
import logging

from django.dispatch import receiver
from redis import RedisError

from backend.core import outbox
from backend.creators.events import follow_ended, follow_started
from backend.videos.events import video_changed, video_hidden, video_liked, video_published, video_shown
from feeds import store, tasks
from feeds.models import RedisRepair
from feeds.services import following_author_drop, redis_repairs_record

logger = logging.getLogger(__name__)


def _repaired_after_outage(kind: str, targets):
    """On a Redis failure, record ``targets(payload)`` for repair under ``kind`` instead of failing."""

    def decorate(receiver_function):
        @functools.wraps(receiver_function)
        def guarded(sender, **payload) -> None:
            try:
                receiver_function(sender, **payload)
            except RedisError:
                logger.warning("feeds: Redis unavailable in %s; repair recorded", receiver_function.__name__)
                redis_repairs_record(kind=kind, target_ids=list(targets(payload)))

        return guarded

    return decorate


@receiver(video_hidden, dispatch_uid="feeds.hide_video")
@_repaired_after_outage(RedisRepair.Kind.HIDDEN, lambda payload: payload["video_ids"])
def hide_video(sender, *, video_ids: list[int], **kwargs) -> None:
    # Synchronous: removal and withdrawn consent must leave every feed within a second.
    store.hide_videos(video_ids)


@receiver(video_hidden.in_transaction, dispatch_uid="feeds.hide_video_for_sure")
def hide_video_for_sure(sender, *, video_ids: list[int], **kwargs) -> None:
    # Written with the removal: should this process die before its after-commit hooks run, beat's
    # repair (every few seconds) still takes the video out of every feed. Harmless when they ran.
    redis_repairs_record(kind=RedisRepair.Kind.HIDDEN, target_ids=video_ids)


@receiver([video_changed, video_shown], dispatch_uid="feeds.refresh_card")
@_repaired_after_outage(RedisRepair.Kind.CARD, lambda payload: payload["video_ids"])
def refresh_card(sender, *, video_ids: list[int], **kwargs) -> None:
    # Changed, or restored by a moderator (its tombstone goes too): rebuilt from PostgreSQL.
    store.cards_drop(video_ids)


@receiver(video_published.in_transaction, dispatch_uid="feeds.fan_out")
def fan_out(sender, *, video_id: int, **kwargs) -> None:
    # Written with the publish, through the outbox: a post published while the broker is away, or by
    # a process that dies right after its commit, still reaches the followers.
    outbox.enqueue(tasks.video_fanout, video_id=video_id)


@receiver(video_liked, dispatch_uid="feeds.remember_like")
@_repaired_after_outage(RedisRepair.Kind.LIKED, lambda payload: [payload["user_id"]])
def remember_like(sender, *, video_id: int, user_id: int, liked: bool, **kwargs) -> None:
    store.viewer_set_change(user_id, "liked", video_id, present=liked)


@receiver(follow_started, dispatch_uid="feeds.reload_following_feed")
@_repaired_after_outage(RedisRepair.Kind.FOLLOWING, lambda payload: [payload["follower_id"]])
def reload_following_feed(sender, *, follower_id: int, **kwargs) -> None:
    # The next following page loads it again, with the new account's earlier posts.
    store.following_forget(follower_id)


@receiver(follow_ended, dispatch_uid="feeds.forget_unfollowed_author")
@_repaired_after_outage(RedisRepair.Kind.FOLLOWING, lambda payload: [payload["follower_id"]])
def forget_unfollowed_author(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    following_author_drop(follower_id=follower_id, author_id=followee_id)
