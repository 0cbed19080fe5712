"""Videos appear in and vanish from feeds as their state changes."""

import logging

from django.dispatch import receiver
from redis import RedisError

from backend.videos.events import video_changed, video_hidden, video_published, video_shown
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
