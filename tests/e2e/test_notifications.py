"""Notifications end to end: events of real services reach inboxes through a real Celery worker on the
``notifications`` queue, with real Redis and PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from backend.videos import services as video_services
from media.models import RenderJob
from notifications.models import Kind, Notification
from tests.factories import CameoFactory, UserFactory, VideoFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

EVERY_QUEUE = "default,renders,media,feeds,notifications"


def kinds(user) -> list[str]:
    """The user's items, oldest first."""
    return list(Notification.objects.filter(recipient=user).order_by("created_at", "id").values_list("kind", flat=True))


def test_a_render_with_a_friends_cameo_reaches_both_inboxes(start_worker, client_for):
    worker = start_worker(queues=EVERY_QUEUE)
    requester, friend = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=friend, audience="everyone")
    response = client_for(requester).post(
        "/api/v1/renders",
        {"prompt": "a private joke for my friend", "duration_s": 3, "resolution": "480p", "cameo_ids": [cameo.id]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.data

    wait_until(lambda: kinds(requester) == [Kind.RENDER_SUCCEEDED], worker, timeout=180)
    wait_until(lambda: kinds(friend) == [Kind.LIKENESS_RENDER, Kind.LIKENESS_DRAFT], worker)
    job = RenderJob.objects.get(id=response.data["id"])
    draft = Notification.objects.get(recipient=friend, kind=Kind.LIKENESS_DRAFT)
    assert (draft.actor_ids, draft.deep_link) == ([requester.id], f"/videos/{job.result_video_id}")
    inbox = client_for(friend).get("/api/v1/notifications").json()
    assert [item["kind"] for item in inbox["results"]] == [Kind.LIKENESS_DRAFT, Kind.LIKENESS_RENDER]
    assert inbox["unread_count"] == 2
    assert "private joke" not in str(inbox)


def _like(video, user) -> None:
    try:
        video_services.like_create(video=video, user=user)
    finally:
        connection.close()  # each thread's own connection


def test_a_like_storm_is_one_item_from_a_bounded_number_of_refreshes(start_worker):
    worker = start_worker(queues="notifications", concurrency=2)
    video = VideoFactory()
    fans = [UserFactory() for _ in range(200)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda fan: _like(video, fan), fans))

    def grouped() -> Notification | None:
        return Notification.objects.filter(recipient=video.owner, kind=Kind.LIKE).first()

    wait_until(lambda: grouped() is not None and grouped().actor_count == 200, worker, timeout=60)
    assert Notification.objects.filter(recipient=video.owner).count() == 1
    item = grouped()
    assert (item.target_type, item.target_id, len(item.actor_ids)) == ("video", str(video.id), 3)
    # A like queues a refresh only while none is pending: about 25 here on a quiet machine, where one per
    # like would be 200. A loaded machine finishes more refreshes between likes (53 seen), so the bound
    # is half of one per like.
    runs = sum("notifications.group_refresh[" in line and "received" in line for line in worker.log().splitlines())
    assert 1 <= runs <= 100, f"{runs} refreshes for 200 likes"
