"""The videos API: details, creator pages and hashtag pages, as each kind of viewer gets them."""

import pytest

from backend.creators import services as creator_services
from backend.videos import services
from tests.factories import AppearanceFactory, CameoFactory, UserFactory, VideoFactory, VideoHashtagFactory
from tests.videos.viewers import CASES, VIEWERS, make_viewer, video_in

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


@pytest.mark.parametrize("viewer_kind", VIEWERS)
@pytest.mark.parametrize(("state", "allowed"), CASES)
def test_a_video_opens_for_whoever_may_see_it_and_is_404_for_everyone_else(viewer_kind, state, allowed, client_for,
                                                                           api_client):  # fmt: skip
    video = video_in(*state)
    viewer = make_viewer(viewer_kind, video)
    client = client_for(viewer) if viewer else api_client
    response = client.get(f"/api/v1/videos/{video.id}")
    assert response.status_code == (200 if viewer_kind in allowed else 404)


def test_the_prompt_can_be_hidden_from_others(client_for, api_client):
    video = VideoFactory(prompt="secret sauce", prompt_hidden=True)
    assert api_client.get(f"/api/v1/videos/{video.id}").data["prompt"] is None
    assert client_for(video.owner).get(f"/api/v1/videos/{video.id}").data["prompt"] == "secret sauce"


def test_a_withdrawn_video_is_opened_by_nobody_but_listed_for_its_cameos_owner(client_for, api_client):
    """Its creator may no longer show that likeness, to anyone, themself included; the likeness's owner
    finds it among their appearances and removes it there."""
    from backend.videos.services import videos_mark_consent_withdrawn

    video = VideoFactory()
    cameo_owner = UserFactory()
    cameo = CameoFactory(owner=cameo_owner)
    AppearanceFactory(cameo=cameo, video=video)
    videos_mark_consent_withdrawn(video_ids=[video.id])
    for client in (api_client, client_for(video.owner), client_for(cameo_owner)):
        assert client.get(f"/api/v1/videos/{video.id}").status_code == 404
    listed = client_for(cameo_owner).get(f"/api/v1/cameos/{cameo.id}/appearances").json()["results"]
    assert [row["video_id"] for row in listed] == [video.id]
    removed = client_for(cameo_owner).delete(f"/api/v1/cameos/{cameo.id}/appearances/{video.id}")
    assert removed.status_code in (200, 204)


@pytest.mark.parametrize("viewer_kind", ["stranger", "anonymous"])
def test_suspended_or_deactivated_creators_videos_are_hidden_from_others(viewer_kind, client_for, api_client):
    from datetime import timedelta

    from django.utils import timezone

    suspended = VideoFactory(owner=UserFactory(suspended_until=timezone.now() + timedelta(days=3)))
    deactivated = VideoFactory(owner=UserFactory(is_active=False))
    client = client_for(UserFactory()) if viewer_kind == "stranger" else api_client
    for video in (suspended, deactivated):
        assert client.get(f"/api/v1/videos/{video.id}").status_code == 404
    assert client_for(suspended.owner).get(f"/api/v1/videos/{suspended.id}").status_code == 200


def test_teens_do_not_open_age_restricted_videos_anywhere(client_for):
    from datetime import date

    from backend.videos.services import video_publish  # noqa: F401  (hashtags come with publishing)

    teen = UserFactory(birth_date=date(date.today().year - 15, 1, 1))
    adult = UserFactory(birth_date=date(1990, 1, 1))
    video = VideoFactory(safe_for_teens=False, caption="#skate")
    VideoHashtagFactory(hashtag__name="skate", video=video)
    teen_client, adult_client = client_for(teen), client_for(adult)
    assert teen_client.get(f"/api/v1/videos/{video.id}").status_code == 404
    assert adult_client.get(f"/api/v1/videos/{video.id}").status_code == 200
    for path in (f"/api/v1/creators/{video.owner.handle}/videos", "/api/v1/hashtags/skate"):
        assert [v["id"] for v in teen_client.get(path).data["results"]] == []
        assert [v["id"] for v in adult_client.get(path).data["results"]] == [video.id]
    refused = teen_client.post(f"/api/v1/videos/{video.id}/remix", {"prompt": "again", "duration_s": 4}, format="json",
                               HTTP_IDEMPOTENCY_KEY="teen-remix")  # fmt: skip
    assert refused.status_code == 404


def test_a_creators_page_counts_only_what_anyone_may_see(api_client):
    from backend.videos.services import videos_mark_consent_withdrawn

    shown, withdrawn = VideoFactory(), VideoFactory()
    VideoFactory(owner=shown.owner, visibility="private")
    withdrawn.owner = shown.owner
    withdrawn.save(update_fields=["owner"])
    videos_mark_consent_withdrawn(video_ids=[withdrawn.id])
    profile = api_client.get(f"/api/v1/creators/{shown.owner.handle}").json()
    assert profile["video_count"] == 1
    listed = api_client.get(f"/api/v1/creators/{shown.owner.handle}/videos").json()["results"]
    assert [video["id"] for video in listed] == [shown.id]
