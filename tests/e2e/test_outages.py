"""Faults with real servers: Redis killed under load, PostgreSQL restarted under load.

Viewers swipe and like over HTTP (a live server in this process, several at once) while the server
under them dies. Nothing a viewer was told succeeded is lost or counted twice, nobody gets a 500,
and once the server is back the feed agrees with the database within one repair cycle.
"""

import threading
import time

import httpx
import pytest
from celery import current_app
from django.db import connection
from django_redis import get_redis_connection
from rest_framework_simplejwt.tokens import AccessToken

from backend.videos.models import Like, Video
from feeds import services as feed_services
from feeds import store
from media import services as media_services
from media.models import RenderJob
from tests.factories import UserFactory, VideoFactory
from tests.workers import PostgresServer, RedisServer, database_at, use_broker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


class Viewer(threading.Thread):
    """Swipes a feed page, then likes the next post, until its posts run out; records every answer.

    As the app does, a like answered 503 is sent again after a moment, until it goes through.
    """

    def __init__(self, base_url: str, user, posts: list[Video], pause_s: float):
        super().__init__(daemon=True)
        self.user, self.posts, self.pause_s = user, posts, pause_s
        self.http = httpx.Client(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {AccessToken.for_user(user)}"}
        )
        self.answers: list[tuple[str, int, float]] = []  # what, status, when
        self.liked: set[int] = set()

    def run(self) -> None:
        for post in self.posts:
            self.answers.append(("feed", self.http.get("/api/v1/feed").status_code, time.monotonic()))
            while True:
                response = self.http.post(f"/api/v1/videos/{post.id}/like")
                self.answers.append(("like", response.status_code, time.monotonic()))
                if response.status_code != 503:
                    break
                assert response.headers["Retry-After"]
                time.sleep(0.3)
            if response.status_code in (200, 201):
                self.liked.add(post.id)
            time.sleep(self.pause_s)


@pytest.fixture
def own_redis(tmp_path, settings):
    """This process's cache, feed store and broker on a Redis the test can kill."""
    server = RedisServer(tmp_path / "redis")
    broker_url = current_app.conf.broker_url
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    use_broker(server.url)
    yield server
    get_redis_connection("default").connection_pool.disconnect()
    use_broker(broker_url)
    server.stop()


def test_redis_killed_under_load_loses_and_doubles_no_like_and_the_feed_agrees_after(live_server, own_redis, settings):
    posts = [VideoFactory() for _ in range(24)]
    viewers = [Viewer(live_server.url, UserFactory(), posts[n:] + posts[:n], pause_s=0.2) for n in range(4)]
    for viewer in viewers:
        viewer.start()
    time.sleep(1.5)
    own_redis.kill()
    down_from = time.monotonic()
    time.sleep(2.5)
    own_redis.start()
    down_until = time.monotonic()
    for viewer in viewers:
        viewer.join(120)

    answers = [answer for viewer in viewers for answer in viewer.answers]
    assert any(down_from < when < down_until for kind, _, when in answers if kind == "like"), "no like met the outage"
    assert not [answer for answer in answers if answer[1] >= 500], answers
    assert all(status in (200, 201) for kind, status, _ in answers if kind == "like"), answers
    # Nothing lost, nothing doubled: every like a viewer was answered is in PostgreSQL, once.
    for viewer in viewers:
        assert set(Like.objects.filter(user=viewer.user).values_list("video_id", flat=True)) == viewer.liked
    for post in Video.objects.filter(id__in=[post.id for post in posts]):
        assert post.like_count == Like.objects.filter(video=post).count()

    # Beat's repair (every 5 s), then each viewer's next page: Redis's liked sets are PostgreSQL's.
    feed_services.redis_repairs_apply()
    # A personal page loads the sets; a shared first page (the feeds are gone with Redis's data) leaves
    # that to the personal build on a worker, which this test does not run.
    settings.FEED_SHARED_FIRST_PAGE = False
    for viewer in viewers:
        assert viewer.http.get("/api/v1/feed").status_code == 200
        in_redis = {int(member) for member in store.redis().smembers(store.user_key(viewer.user.id, "liked"))
                    if member != b"-"}  # fmt: skip
        assert in_redis == viewer.liked


@pytest.fixture
def own_postgres(tmp_path):
    """This process (and so the live server) on a PostgreSQL the test can stop; the suite's own
    database is untouched."""
    server = PostgresServer(tmp_path / "postgres")
    with database_at(**server.settings_dict()):
        yield server
    server.delete()


def test_postgres_restarted_under_load_answers_503_then_loses_and_doubles_nothing(
    live_server, own_postgres, start_worker, settings
):
    worker = start_worker(env={"DATABASE_URL": own_postgres.url, "RENDER_HEARTBEAT_INTERVAL_S": "1"})
    creator, posts = UserFactory(), [VideoFactory() for _ in range(12)]
    render = httpx.post(
        f"{live_server.url}/api/v1/renders",
        json={"prompt": "a lighthouse in a storm", "duration_s": 3, "resolution": "480p"},
        headers={"Authorization": f"Bearer {AccessToken.for_user(creator)}", "Idempotency-Key": "lighthouse"},
    )
    assert render.status_code == 201, render.text
    viewers = [Viewer(live_server.url, UserFactory(), posts[n:] + posts[:n], pause_s=0.2) for n in range(3)]
    for viewer in viewers:
        viewer.start()
    wait_until(lambda: RenderJob.objects.filter(id=render.json()["id"], status="running").exists(), worker)
    time.sleep(0.5)
    own_postgres.stop()
    time.sleep(3)
    own_postgres.start()
    for viewer in viewers:
        viewer.join(120)
    connection.close()  # this thread's own connection was cut by the restart

    answers = [answer for viewer in viewers for answer in viewer.answers]
    assert [status for _, status, _ in answers].count(503) > 0, "no request met the outage"
    assert not [answer for answer in answers if answer[1] >= 500 and answer[1] != 503], answers
    for viewer in viewers:
        assert set(Like.objects.filter(user=viewer.user).values_list("video_id", flat=True)) == viewer.liked
        assert viewer.liked == {post.id for post in posts}  # every like went through in the end
    for post in Video.objects.filter(id__in=[post.id for post in posts]):
        assert post.like_count == Like.objects.filter(video=post).count() == 3

    # The render the outage interrupted ends once, taken over by the reaper if its worker lost it.
    settings.RENDER_HEARTBEAT_TIMEOUT_S = 3

    def rendered() -> bool:
        media_services.render_jobs_reap()
        return RenderJob.objects.get(id=render.json()["id"]).status in ("succeeded", "failed", "cancelled")

    wait_until(rendered, worker, timeout=90)
    assert RenderJob.objects.get(id=render.json()["id"]).status == "succeeded", worker.log()[-3000:]
    assert Video.objects.filter(owner=creator).count() == 1
