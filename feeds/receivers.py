"""Videos appear in and vanish from feeds as their state changes.

Receivers run after the change committed, inside the request or task that made
it. A Redis or broker outage must not turn that committed change into an
error: each receiver logs the failure and lets the request succeed, and the
feed corrects itself as its keys expire and serving re-reads PostgreSQL.
"""

import functools
import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerError
from redis import RedisError

from backend.core import outbox
from backend.creators.events import follow_ended, follow_started
from backend.videos.events import video_changed, video_hidden, video_liked, video_published, video_shown
from feeds import store, tasks
from feeds.services import following_author_drop

logger = logging.getLogger(__name__)


def _tolerate_outage(receiver_function):
    @functools.wraps(receiver_function)
    def guarded(sender, **payload) -> None:
        try:
            receiver_function(sender, **payload)
        except (RedisError, BrokerError):
            logger.exception("feeds could not take %s in: Redis is unavailable", receiver_function.__name__)

    return guarded


@receiver(video_hidden, dispatch_uid="feeds.hide_video")
@_tolerate_outage
def hide_video(sender, *, video_ids: list[int], **kwargs) -> None:
    # Synchronous: removal and withdrawn consent must leave every feed within a second.
    # Should Redis fail, serving re-checks PostgreSQL once the card expires (FEED_CARD_TTL_S).
    store.hide_videos(video_ids)


@receiver([video_changed, video_shown], dispatch_uid="feeds.refresh_card")
@_tolerate_outage
def refresh_card(sender, *, video_ids: list[int], **kwargs) -> None:
    # Changed, or restored by a moderator (its tombstone goes too): rebuilt from PostgreSQL.
    store.cards_drop(video_ids)


@receiver(video_published, dispatch_uid="feeds.fan_out")
@_tolerate_outage
def fan_out(sender, *, video_id: int, **kwargs) -> None:
    # Through the outbox: a post published while the broker is away still reaches the followers.
    outbox.enqueue(tasks.video_fanout, video_id=video_id)


@receiver(video_liked, dispatch_uid="feeds.remember_like")
@_tolerate_outage
def remember_like(sender, *, video_id: int, user_id: int, liked: bool, **kwargs) -> None:
    # Should Redis fail, the viewer's set is reloaded when it expires (FEED_VIEWER_SET_TTL_S).
    store.viewer_set_change(user_id, "liked", video_id, present=liked)


@receiver(follow_started, dispatch_uid="feeds.reload_following_feed")
@_tolerate_outage
def reload_following_feed(sender, *, follower_id: int, **kwargs) -> None:
    # The next following page loads it again, with the new account's earlier posts.
    store.following_forget(follower_id)


@receiver(follow_ended, dispatch_uid="feeds.forget_unfollowed_author")
@_tolerate_outage
def forget_unfollowed_author(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    following_author_drop(follower_id=follower_id, author_id=followee_id)
