"""Faults with real processes: the broker away while people render and publish loses nothing.

The web side (this process) finds the broker gone; a real Celery worker and the outbox relay
take over once it is back. Each render runs once, and each follower gets the post.
"""

import time
import uuid

import pytest
from django.core.management import call_command

from backend.core.models import OutboxMessage
from backend.videos.models import Video
from feeds import store
from media.models import RenderJob
from tests.factories import UserFactory, VideoFactory
from tests.workers import broker_unreachable, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_renders_requested_while_the_broker_is_away_run_once_when_it_is_back(start_worker, client_for):
    worker = start_worker(concurrency=2)
    creators = [UserFactory() for _ in range(3)]  # one render each: a free tier renders one at a time
    job_ids = []
    with broker_unreachable():
        for n, creator in enumerate(creators):
            response = client_for(creator).post(
                "/api/v1/renders",
                {"prompt": f"a paper boat on a rainy street, take {n}", "duration_s": 2, "resolution": "480p"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            assert (response.status_code, response.data["status"]) == (201, "queued")
            job_ids.append(response.data["id"])
        assert OutboxMessage.objects.filter(task="media.render_job_execute").count() == 3
        time.sleep(2)
        assert set(RenderJob.objects.values_list("status", flat=True)) == {"queued"}  # nothing reached a worker

    call_command("outbox_relay", "--once")
    assert not OutboxMessage.objects.exists()
    wait_until(lambda: RenderJob.objects.filter(id__in=job_ids, status="succeeded").count() == 3, worker)
    assert list(RenderJob.objects.filter(id__in=job_ids).values_list("attempts", flat=True)) == [1, 1, 1]
    assert sorted(Video.objects.values_list("owner_id", flat=True)) == sorted(creator.id for creator in creators)


def test_a_post_published_while_the_broker_is_away_reaches_every_follower(start_worker, client_for):
    worker = start_worker()
    author = UserFactory()
    followers = [UserFactory() for _ in range(5)]
    VideoFactory(owner=author)  # an earlier post, so each following feed is loaded in Redis
    for follower in followers:
        client = client_for(follower)
        assert client.post(f"/api/v1/creators/{author.handle}/follow").status_code in (200, 201)
        assert len(client.get("/api/v1/feed", {"kind": "following"}).json()["results"]) == 1
        assert store.redis().exists(store.feed_key(follower.id, store.FOLLOWING))

    draft = VideoFactory(owner=author, status="draft", published_at=None)
    with broker_unreachable():
        assert client_for(author).post(f"/api/v1/videos/{draft.id}/publish", {}, format="json").status_code == 200
        assert OutboxMessage.objects.filter(task="feeds.video_fanout").count() == 1

    call_command("outbox_relay", "--once")

    def every_follower_has_it() -> bool:
        return all(
            store.redis().zscore(store.feed_key(follower.id, store.FOLLOWING), str(draft.id)) is not None
            for follower in followers
        )

    wait_until(every_follower_has_it, worker)
    for follower in followers:
        ids = [card["id"] for card in client_for(follower).get("/api/v1/feed", {"kind": "following"}).json()["results"]]
        assert ids[0] == draft.id
