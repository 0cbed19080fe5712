"""feeds/services, called directly: counting events without losing or doubling one, and steering words.

Building, serving and fan-out are exercised through the API in test_api.py, and on real workers in tests/e2e.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.videos.models import Video
from feeds import services, store
from tests.factories import UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def event(event_id, video, kind="impression", **extra):
    return {"id": event_id, "video_id": video.id, "type": kind, **extra}


class TestCountersFlush:
    def test_no_increment_is_lost_or_doubled_across_a_crash(self):
        # An impression counts once per viewer, video and day: each one here is another viewer's.
        video = VideoFactory()
        services.events_record(user=UserFactory(), events=[event("a", video)])
        store.counters_take("crashed-before-commit")  # a flush that died before writing to PostgreSQL
        services.events_record(user=UserFactory(), events=[event("b", video)])
        services.counters_flush()
        video.refresh_from_db()
        assert video.impression_count == 2
        # A flush that died after its commit but before dropping the batch: never applied twice.
        services.events_record(user=UserFactory(), events=[event("c", video)])
        assert store.counters_take("committed-then-crashed")
        services._apply_batch("committed-then-crashed", store.counters_read("committed-then-crashed"))
        services.counters_flush()
        video.refresh_from_db()
        assert video.impression_count == 3

    def test_a_flush_costs_the_same_queries_for_2_videos_or_20(self):
        viewer, queries = UserFactory(), []
        for count in (2, 20):
            made = [VideoFactory(duration_s=60) for _ in range(count)]
            batch = [event(f"{count}-{n}-{kind}", video, kind, watch_ms=2000 * n)
                     for n, video in enumerate(made) for kind in ("impression", "watch")]  # fmt: skip
            services.events_record(user=viewer, events=batch)
            with CaptureQueriesContext(connection) as captured:
                services.counters_flush()
            queries.append(len(captured))
            rows = Video.objects.filter(id__in=[v.id for v in made]).order_by("id")
            assert [(v.impression_count, v.view_count, v.watch_seconds) for v in rows] == [
                (1, 1, 2 * n) for n in range(count)
            ]
        assert queries[0] == queries[1]


class TestParsePreferences:
    def test_plain_words_become_topics(self):
        assert services.parse_preferences("more cooking and dogs, no horror; less sports please") == (
            ["cooking", "dogs"], ["horror", "sports"])  # fmt: skip


class TestRedisRestartRepair:
    def test_after_a_restart_the_copies_of_postgres_are_dropped_and_event_claims_kept(self, client_for, settings):
        settings.FEED_SHARED_FIRST_PAGE = False  # a personal first page (a shared one leaves the sets to the worker)
        post, viewer = VideoFactory(), UserFactory()
        client_for(viewer).get("/api/v1/feed")  # loads the viewer's liked and blocked sets and the card
        store.events_claim(viewer.id, [("event-1", f"{post.id}:watch")])
        copies = [store.user_key(viewer.id, "liked"), store.user_key(viewer.id, "blocked"), store.card_key(post.id)]
        claims = store.user_key(viewer.id, f"events:{store.events_day().isoformat()}")
        assert all(store.redis().exists(key) for key in [*copies, claims])
        # Given the run id Redis restored from its append-only file: the one before the restart
        store.restart_acknowledge("run-id-before-the-restart")

        assert services.redis_restart_repair() >= 3

        assert not any(store.redis().exists(key) for key in copies)
        assert store.redis().exists(claims)
        assert services.redis_restart_repair() == 0  # acknowledged: the same Redis drops nothing again

    def test_the_same_redis_keeps_everything(self, client_for):
        post = VideoFactory()
        services.redis_restart_repair()
        client_for(UserFactory()).get("/api/v1/feed")
        assert services.redis_restart_repair() == 0
        assert store.redis().exists(store.card_key(post.id))
