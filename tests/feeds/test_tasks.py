"""Every feed task, run twice: the second run finds nothing left to do and changes nothing.

The tasks are called as functions (as a worker would run a redelivered message), not through the broker.
"""

import pytest

from backend.videos.models import Video
from feeds import services, store, tasks
from feeds.models import CounterFlush
from tests.factories import FollowFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def for_you(user_id: int) -> list[tuple[bytes, float]]:
    """The stored for-you feed, ids with their positions."""
    return store.redis().zrange(store.feed_key(user_id, store.FOR_YOU), 0, -1, withscores=True)


def following(user_id: int) -> list[tuple[bytes, float]]:
    return store.redis().zrange(store.feed_key(user_id, store.FOLLOWING), 0, -1, withscores=True)


def test_feed_refill_twice_appends_each_video_once_and_caches_the_same_cards():
    posts = [VideoFactory() for _ in range(12)]
    viewer = UserFactory()
    tasks.feed_refill(user_id=viewer.id)
    feed, cards = for_you(viewer.id), set(store.cards_get([post.id for post in posts]))
    assert {int(member) for member, _ in feed} == {post.id for post in posts}
    tasks.feed_refill(user_id=viewer.id)
    assert for_you(viewer.id) == feed  # same ids at the same positions: nothing appended twice
    assert set(store.cards_get([post.id for post in posts])) == cards


def test_feed_refill_for_a_gone_account_does_nothing_twice():
    VideoFactory()
    gone = UserFactory(is_active=False)
    tasks.feed_refill(user_id=gone.id)
    tasks.feed_refill(user_id=gone.id)
    assert for_you(gone.id) == []


def test_video_fanout_twice_puts_the_post_in_each_followers_feed_once():
    author = UserFactory()
    followers = [FollowFactory(followee=author).follower for _ in range(3)]
    post = VideoFactory(owner=author)
    tasks.video_fanout(video_id=post.id)
    after_first = {follower.id: following(follower.id) for follower in followers}
    tasks.video_fanout(video_id=post.id)
    assert {follower.id: following(follower.id) for follower in followers} == after_first
    assert all(feed == [(str(post.id).encode(), post.published_at.timestamp())] for feed in after_first.values())


def test_video_fanout_of_a_private_video_does_nothing_twice():
    author = UserFactory()
    follower = FollowFactory(followee=author).follower
    private = VideoFactory(owner=author, visibility="private")
    tasks.video_fanout(video_id=private.id)
    tasks.video_fanout(video_id=private.id)
    assert following(follower.id) == []


def test_counters_flush_twice_counts_each_event_once():
    video = VideoFactory(duration_s=8)
    for viewer in (UserFactory(), UserFactory()):
        services.events_record(user=viewer, events=[{"id": "e1", "video_id": video.id, "type": "impression"}])
    tasks.counters_flush()
    video.refresh_from_db()
    flushed = CounterFlush.objects.count()
    assert (video.impression_count, flushed) == (2, 1)
    tasks.counters_flush()
    video.refresh_from_db()
    assert (video.impression_count, CounterFlush.objects.count()) == (2, flushed)
    assert store.counter_batches() == []


def test_trending_recompute_twice_gives_the_same_ranking():
    VideoFactory(like_count=40, impression_count=100)
    VideoFactory(like_count=5, impression_count=100)
    tasks.trending_recompute()
    first = store.redis().zrange(store.trending_key(), 0, -1, withscores=True)
    tasks.trending_recompute()
    assert store.redis().zrange(store.trending_key(), 0, -1, withscores=True) == first
    assert len(first) == Video.objects.count()
