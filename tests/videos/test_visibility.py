"""Every status and visibility against every kind of viewer, through the selector and the API."""

import pytest

from backend.cameos.models import Appearance
from backend.creators import services as creator_services
from backend.videos import selectors
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

VIEWERS = ["owner", "cameo_owner", "follower", "stranger", "blocked", "anonymous"]
CASES = [
    # (status, visibility): viewers who may open it
    (("published", "public"), {"owner", "cameo_owner", "follower", "stranger", "anonymous"}),
    (("published", "followers"), {"owner", "cameo_owner", "follower"}),
    (("published", "private"), {"owner", "cameo_owner"}),
    (("draft", "public"), {"owner", "cameo_owner"}),
    (("draft", "private"), {"owner", "cameo_owner"}),
    (("removed", "public"), set()),
]


def make_viewer(kind, video):
    if kind == "owner":
        return video.owner
    if kind == "anonymous":
        return None
    viewer = UserFactory()
    if kind == "cameo_owner":
        Appearance.objects.create(cameo=CameoFactory(owner=viewer), video=video)
    if kind in ("follower", "blocked"):
        creator_services.follow_create(follower=viewer, followee=video.owner)
    if kind == "blocked":
        creator_services.block_create(blocker=video.owner, blocked=viewer)
    return viewer


@pytest.mark.parametrize("viewer_kind", VIEWERS)
@pytest.mark.parametrize(("state", "allowed"), CASES)
def test_visibility_matrix(viewer_kind, state, allowed, client_for, api_client):
    status, visibility = state
    video = VideoFactory(status=status, visibility=visibility, **({"published_at": None} if status == "draft" else {}))
    viewer = make_viewer(viewer_kind, video)
    visible = selectors.videos_visible_to(viewer=viewer).filter(id=video.id).exists()
    assert visible is (viewer_kind in allowed)
    client = client_for(viewer) if viewer else api_client
    response = client.get(f"/api/v1/videos/{video.id}")
    assert response.status_code == (200 if viewer_kind in allowed else 404)


def test_the_prompt_can_be_hidden_from_others(client_for, api_client):
    video = VideoFactory(prompt="secret sauce", prompt_hidden=True)
    assert api_client.get(f"/api/v1/videos/{video.id}").data["prompt"] is None
    assert client_for(video.owner).get(f"/api/v1/videos/{video.id}").data["prompt"] == "secret sauce"


def test_consent_withdrawn_videos_are_hidden_from_others_but_not_their_owner(client_for, api_client):
    from backend.videos.services import videos_mark_consent_withdrawn

    video = VideoFactory()
    videos_mark_consent_withdrawn(video_ids=[video.id])
    assert api_client.get(f"/api/v1/videos/{video.id}").status_code == 404
    assert client_for(video.owner).get(f"/api/v1/videos/{video.id}").status_code == 200
