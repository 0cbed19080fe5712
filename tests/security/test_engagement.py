"""Engagement inflation, written as the attack: one client making up fresh event ids.

A view, an impression, a completion counts once per viewer, video and day; watch time
is capped at the video's duration; a user's event batches are throttled.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from feeds import services, store
from tests.factories import UserFactory, VideoFactory

EVENTS = "/api/v1/feed/events"


def flood(client, video, kind, *, batches=11, per_batch=100, prefix="", **extra):
    """``batches`` batches of ``per_batch`` events with fresh ids: what the attacker sent."""
    for batch in range(batches):
        events = [{"id": f"{prefix}{kind}-{batch}-{n}", "video_id": video.id, "type": kind, **extra}
                  for n in range(per_batch)]  # fmt: skip
        response = client.post(EVENTS, {"events": events}, format="json")
        assert response.status_code == 200, response.content


def counts(video):
    services.counters_flush()
    video.refresh_from_db()
    return video


@pytest.mark.django_db
class TestEventFlood:
    def test_1100_watch_events_with_fresh_ids_make_one_view(self, client_for):
        video = VideoFactory(duration_s=4)
        flood(client_for(UserFactory()), video, "watch", watch_ms=4000)
        video = counts(video)
        assert (video.view_count, video.watch_seconds) == (1, 4)

    @pytest.mark.parametrize(("kind", "column"), [("impression", "impression_count"), ("complete", "completion_count"),
                                                  ("skip", "skip_count")])  # fmt: skip
    def test_impressions_completions_and_skips_count_once_per_viewer_and_day(self, client_for, kind, column):
        video = VideoFactory(duration_s=4)
        flood(client_for(UserFactory()), video, kind)
        assert getattr(counts(video), column) == 1

    def test_the_answer_says_the_rest_were_duplicates(self, client_for):
        video, client = VideoFactory(duration_s=4), client_for(UserFactory())
        events = [{"id": f"w{n}", "video_id": video.id, "type": "watch", "watch_ms": 1000} for n in range(100)]
        assert client.post(EVENTS, {"events": events}, format="json").json() == {
            "accepted": 1, "duplicates": 99, "ignored": 0}  # fmt: skip

    def test_an_hour_of_watching_a_4_second_video_is_4_seconds(self, client_for):
        video = VideoFactory(duration_s=4)
        event = {"id": "long", "video_id": video.id, "type": "watch", "watch_ms": 3_600_000}
        client_for(UserFactory()).post(EVENTS, {"events": [event]}, format="json")
        assert counts(video).watch_seconds <= 4

    def test_two_viewers_make_two_views(self, client_for):
        video = VideoFactory(duration_s=4)
        for viewer in (UserFactory(), UserFactory()):
            flood(client_for(viewer), video, "watch", batches=2, watch_ms=2000)
        video = counts(video)
        assert (video.view_count, video.watch_seconds) == (2, 4)

    def test_the_next_day_counts_again(self, client_for, monkeypatch):
        video, client = VideoFactory(duration_s=4), client_for(UserFactory())
        flood(client, video, "watch", batches=2, watch_ms=4000)
        today = store.events_day()
        monkeypatch.setattr(store, "events_day", lambda: today + timedelta(days=1))
        flood(client, video, "watch", batches=2, watch_ms=4000, prefix="tomorrow-")
        video = counts(video)
        assert (video.view_count, video.watch_seconds) == (2, 8)

    def test_a_failed_count_is_released_so_the_batch_sent_again_counts(self, client_for, monkeypatch):
        from redis import ConnectionError as RedisConnectionError

        video, client = VideoFactory(duration_s=4), client_for(UserFactory())
        events = [{"id": "v1", "video_id": video.id, "type": "watch", "watch_ms": 3000}]
        apply = store.events_apply

        def redis_drops_the_connection(*args):
            raise RedisConnectionError("connection reset")

        monkeypatch.setattr(store, "events_apply", redis_drops_the_connection)
        assert client.post(EVENTS, {"events": events}, format="json").status_code == 503
        monkeypatch.setattr(store, "events_apply", apply)
        events[0]["id"] = "v2"  # a fresh id for the same view: the failed one counted nothing
        assert client.post(EVENTS, {"events": events}, format="json").json()["accepted"] == 1
        video = counts(video)
        assert (video.view_count, video.watch_seconds) == (1, 3)

    def test_the_event_throttle_answers_429_with_retry_after(self, client_for, settings):
        settings.THROTTLE_FEED_EVENTS = "3/min"
        video, client = VideoFactory(duration_s=4), client_for(UserFactory())
        for n in range(3):
            event = {"id": f"t{n}", "video_id": video.id, "type": "impression"}
            assert client.post(EVENTS, {"events": [event]}, format="json").status_code == 200
        response = client.post(EVENTS, {"events": [{"id": "t9", "video_id": video.id, "type": "impression"}]},
                               format="json")  # fmt: skip
        assert (response.status_code, response.json()["error"]["code"]) == (429, "throttled")
        assert int(response.headers["Retry-After"]) > 0
        # Another user is not held back by this one.
        other = client_for(UserFactory()).post(EVENTS, {"events": [{"id": "t1", "video_id": video.id,
                                                                    "type": "impression"}]}, format="json")  # fmt: skip
        assert other.status_code == 200


@pytest.mark.django_db(transaction=True)
class TestConcurrentViews:
    def send_together(self, clients, video):
        barrier, statuses = threading.Barrier(len(clients)), []

        def send(index, client):
            try:
                barrier.wait()
                event = {"id": f"c{index}", "video_id": video.id, "type": "watch", "watch_ms": 4000}
                statuses.append(client.post(EVENTS, {"events": [event]}, format="json").status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(index, client)) for index, client in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * len(clients)

    def test_10_concurrent_views_of_one_viewer_count_once(self, client_for):
        video, viewer = VideoFactory(duration_s=4), UserFactory()
        self.send_together([client_for(viewer) for _ in range(10)], video)
        video = counts(video)
        assert (video.view_count, video.watch_seconds) == (1, 4)

    def test_concurrent_views_of_two_viewers_count_twice(self, client_for):
        video, viewers = VideoFactory(duration_s=4), [UserFactory(), UserFactory()]
        self.send_together([client_for(viewers[n % 2]) for n in range(10)], video)
        assert counts(video).view_count == 2
