"""The feed store on a Redis Cluster: keys that go together share a slot, cards spread over every
primary, and the feed keeps serving while a primary dies and its replica takes over.

The rest of the feed suite runs on the cluster too (tests/feeds/conftest.py ``feed_store``).
"""

import pytest
from redis.cluster import key_slot

from backend.core import metrics
from feeds import services, store
from feeds.cards import Card
from tests.factories import UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
FEED_STORES = ("cluster",)
FEED = "/api/v1/feed"


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
    monkeypatch.setattr("feeds.tasks.video_fanout.delay", lambda **kwargs: None)


def test_the_keys_a_script_or_transaction_touches_share_one_slot():
    viewer_keys = [store.user_key(42, name) for name in ("for_you", "for_you_seq", "head", "seen", "liked", "blocked",
                                                          "refilling", "warm_until", "following")]  # fmt: skip
    event_keys = store._event_keys(42)
    counter_keys = [store.counters_key(), store._counters_key("batch", "b1"), store._counters_key("batches")]
    for keys in (viewer_keys + event_keys + [store._teen_key(42)], counter_keys):
        assert len({key_slot(key.encode()) for key in keys}) == 1
    # Different viewers spread: their keys are not all on one slot.
    assert len({key_slot(store.user_key(user_id, "for_you").encode()) for user_id in range(50)}) > 40


def test_cards_spread_over_every_primary_and_one_read_gets_them_all(feed_store):
    cards = [Card(video_id, 7, True, True, b'{"id":%d}' % video_id) for video_id in range(1, 101)]
    store.cards_put(cards)
    store.hide_videos([5])
    primaries = [port for port in feed_store.ports if feed_store.role(port) == "master"]
    assert all(feed_store.node(port).dbsize() > 0 for port in primaries)
    found, hidden = store.cards_and_hidden(list(range(1, 102)))
    assert (sorted(found), hidden) == ([n for n in range(1, 101) if n != 5], {5})


def _served(kind: str, source: str) -> float:
    return metrics.FEED_PAGES.labels(kind=kind, source=source)._value.get()


def test_pages_keep_coming_while_a_primary_fails_over(client_for, feed_store):
    """A primary is killed (SIGKILL) between two pages; its replica takes its slots a second or two later.
    Meanwhile every page is served, from Redis or from the PostgreSQL fallback, never a 5xx; once the
    replica has taken over, pages come from Redis again, and the repair sees a new primary."""
    VideoFactory.create_batch(30)
    viewer = UserFactory()
    client = client_for(viewer)
    assert client.get(FEED).status_code == 200  # builds and stores the viewer's feed
    store.restart_acknowledge(store.restarted_since_checked() or "")
    assert store.restarted_since_checked() is None
    victim = feed_store.primary_of(store.feed_key(viewer.id, store.FOR_YOU))
    statuses, empty, redis_pages_after = [], 0, 0
    fallbacks_before = _served("for_you", "postgres")
    try:
        feed_store.kill(victim)
        for _ in range(2000):
            for kind in ("for_you", "following"):
                response = client.get(FEED, {"kind": kind})
                statuses.append(response.status_code)
                empty += kind == "for_you" and not response.json()["results"]
            if feed_store.promoted():
                before = _served("for_you", "redis")
                client.get(FEED)
                redis_pages_after += _served("for_you", "redis") - before
                if redis_pages_after >= 3:
                    break
    finally:
        feed_store.start(victim)  # it comes back as a replica of the one promoted in its place
    assert set(statuses) == {200}, statuses
    assert empty == 0
    assert _served("for_you", "postgres") > fallbacks_before  # the primary was gone: PostgreSQL stood in
    assert redis_pages_after >= 3  # Redis serves again once the replica is promoted
    assert store.restarted_since_checked() is not None  # the repair drops what the lost primary may have missed


def test_counters_spread_over_shards_and_flush_once(settings, feed_store):
    settings.FEED_COUNTER_SHARDS = 4
    posts = VideoFactory.create_batch(8)
    before = {post.id: post.impression_count for post in posts}
    store.events_apply(1, {f"{post.id}:impressions": 2 for post in posts}, [])
    shards = {store._counter_shard(f"{post.id}:impressions") for post in posts}
    assert len(shards) > 1 and all(feed_store.hash_length(store.counters_key(shard)) for shard in shards)
    assert services.counters_flush() == 8
    assert services.counters_flush() == 0  # every shard's batch was applied and dropped, once
    for post in posts:
        post.refresh_from_db()
        assert post.impression_count == before[post.id] + 2
    assert store.counter_batches() == []


def test_a_cluster_out_of_reach_from_the_start_serves_pages_from_postgresql(client_for, settings):
    VideoFactory.create_batch(12)
    viewer = UserFactory()
    settings.FEED_REDIS_URL = "redis+cluster://127.0.0.1:1,127.0.0.1:2"  # no node answers, not even once
    fallbacks = _served("for_you", "postgres")
    response = client_for(viewer).get(FEED)
    assert response.status_code == 200 and len(response.json()["results"]) == 10
    assert _served("for_you", "postgres") == fallbacks + 1
