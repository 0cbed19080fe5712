import pytest
from django.urls import reverse

from backend.creators import services as creator_services
from backend.videos import services
from tests.factories import RenderJobFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def test_creator_videos_newest_first_only_what_the_viewer_may_see(api_client, client_for):
    owner = UserFactory(handle="maker")
    old, new = VideoFactory(owner=owner), VideoFactory(owner=owner)
    followers_only = VideoFactory(owner=owner, visibility="followers")
    VideoFactory(owner=owner, status="draft", published_at=None)
    ids = [video["id"] for video in api_client.get("/api/v1/creators/maker/videos").data["results"]]
    assert ids == [new.id, old.id]
    fan = UserFactory()
    creator_services.follow_create(follower=fan, followee=owner)
    ids = [video["id"] for video in client_for(fan).get("/api/v1/creators/maker/videos").data["results"]]
    assert ids == [followers_only.id, new.id, old.id]


def test_challenge_page_by_recency_and_by_likes(api_client):
    first = services.video_create_draft(owner=UserFactory(), prompt="a")
    second = services.video_create_draft(owner=UserFactory(), prompt="b")
    first = services.video_publish(video=first, by=first.owner, caption="my entry #SkateCat")
    services.video_publish(video=second, by=second.owner, caption="#skatecat too")
    for _ in range(3):
        services.like_create(video=first, user=UserFactory())
    recent = [v["id"] for v in api_client.get("/api/v1/hashtags/skatecat").data["results"]]
    liked = [v["id"] for v in api_client.get("/api/v1/hashtags/SKATECAT", {"order": "likes"}).data["results"]]
    assert (recent, liked) == ([second.id, first.id], [first.id, second.id])
    assert api_client.get("/api/v1/hashtags/nothing").status_code == 404


def test_render_admin_retries_failed_and_cancels_queued_jobs(client, monkeypatch):
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: None)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    user = UserFactory()
    failed = RenderJobFactory(requester=user, status="failed", error_code="provider_failed")
    queued = RenderJobFactory(requester=user)
    changelist = reverse("admin:media_renderjob_changelist")
    client.post(changelist, {"action": "retry_jobs", "_selected_action": [failed.id]})
    client.post(changelist, {"action": "cancel_jobs", "_selected_action": [queued.id]})
    failed.refresh_from_db()
    queued.refresh_from_db()
    assert (failed.status, failed.error_code) == ("queued", "")
    assert (queued.status, queued.error_code) == ("cancelled", "cancelled_by_moderator")
    assert client.get(changelist, {"status__exact": "cancelled"}).status_code == 200
