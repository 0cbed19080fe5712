"""Videos appear in and vanish from feeds as their state changes."""

import logging

from django.dispatch import receiver
from redis import RedisError

from backend.creators.events import block_changed, follow_ended
from backend.videos.events import video_changed, video_hidden, video_liked, video_published, video_shown
from feeds import store

logger = logging.getLogger(__name__)


@receiver(video_hidden, dispatch_uid="feeds.hide_video")
def hide_video(sender, *, video_id: int, **kwargs) -> None:
    # Synchronous: removal and withdrawn consent must leave every feed within a second.
    try:
        store.hide_videos([video_id])
    except RedisError:
        # Serving re-checks the database on a cache miss, and a cold cache misses.
        logger.exception("could not hide video %s in Redis", video_id)


@receiver(video_shown, dispatch_uid="feeds.show_video")
def show_video(sender, *, video_id: int, **kwargs) -> None:
    store.unhide_videos([video_id])


@receiver(video_changed, dispatch_uid="feeds.refresh_card")
def refresh_card(sender, *, video_id: int, **kwargs) -> None:
    store.redis().delete(store.card_key(video_id))


@receiver(video_published, dispatch_uid="feeds.fan_out")
def fan_out(sender, *, video_id: int, **kwargs) -> None:
    from feeds.tasks import fanout_video

    fanout_video.delay(video_id=video_id)


@receiver(video_liked, dispatch_uid="feeds.remember_like")
def remember_like(sender, *, video_id: int, user_id: int, liked: bool, **kwargs) -> None:
    try:
        store.viewer_set_change(user_id, "liked", video_id, present=liked)
    except RedisError:
        store_unavailable("like")


@receiver(block_changed, dispatch_uid="feeds.forget_blocks")
def forget_blocks(sender, *, user_ids: list[int], **kwargs) -> None:
    try:
        for user_id in user_ids:
            store.viewer_set_drop(user_id, "blocked")
    except RedisError:
        store_unavailable("block")


@receiver(follow_ended, dispatch_uid="feeds.forget_unfollowed_author")
def forget_unfollowed_author(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    from feeds.services import following_author_drop

    try:
        following_author_drop(follower_id=follower_id, author_id=followee_id)
    except RedisError:
        store_unavailable("following")


def store_unavailable(what: str) -> None:
    # The sets expire within FEED_VIEWER_SET_TTL_S; until then a page may be slightly stale.
    logger.exception("could not update the feed's %s set in Redis", what)
