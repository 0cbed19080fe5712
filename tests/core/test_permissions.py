"""A suspended account reads but does not write, on every API endpoint, in one place."""

import uuid
from datetime import timedelta

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from backend.cameos import services as cameo_services
from backend.core.permissions import ALLOWED_WHILE_SUSPENDED
from backend.urls import api_v1
from backend.videos import services as video_services
from backend.videos.models import Like, Video
from tests.factories import PASSWORD, CameoFactory, CameoGrantFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
UNSAFE = ("post", "put", "patch", "delete")


@pytest.fixture
def suspended():
    return UserFactory(suspended_until=timezone.now() + timedelta(days=3))


def assert_suspended(response, user):
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "account_suspended"
    assert "suspended until" in error["message"]
    assert error["details"]["until"] == user.suspended_until.isoformat()


def test_a_suspended_account_cannot_edit_create_or_undo(client_for, suspended):
    video = VideoFactory(owner=suspended, caption="before")
    liked = VideoFactory()
    video_services.like_create(video=liked, user=suspended)
    client = client_for(suspended)

    assert_suspended(client.patch(f"/api/v1/videos/{video.id}", {"caption": "after"}), suspended)
    assert_suspended(client.post("/api/v1/cameos", {"kind": "character", "display_name": "Pixel"}), suspended)
    assert_suspended(client.patch("/api/v1/me", {"bio": "new bio"}), suspended)
    assert_suspended(client.delete(f"/api/v1/videos/{liked.id}/like"), suspended)

    video.refresh_from_db()
    suspended.refresh_from_db()
    assert (video.caption, suspended.bio) == ("before", "")
    assert Like.objects.filter(video=liked, user=suspended).exists()
    assert not suspended.cameos.exists()


def test_a_suspended_account_still_reads(client_for, suspended):
    video = VideoFactory(owner=suspended)
    client = client_for(suspended)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get(f"/api/v1/videos/{video.id}").status_code == 200
    assert client.get("/api/v1/cameos").status_code == 200
    assert client.get("/api/v1/feed").status_code == 200


def test_an_active_account_is_unaffected(client_for):
    user = UserFactory(suspended_until=timezone.now() - timedelta(minutes=1))  # a suspension that has ended
    video = VideoFactory(owner=user)
    liked = VideoFactory()
    video_services.like_create(video=liked, user=user)
    client = client_for(user)
    assert client.patch(f"/api/v1/videos/{video.id}", {"caption": "after"}).status_code == 200
    assert client.patch("/api/v1/me", {"bio": "new bio"}).status_code == 200
    assert client.delete(f"/api/v1/videos/{liked.id}/like").status_code == 200
    assert Video.objects.get(id=video.id).caption == "after"
    assert not Like.objects.filter(video=liked, user=user).exists()


def test_signing_in_and_viewing_telemetry_still_work(api_client, client_for, suspended):
    response = api_client.post("/api/v1/auth/token", {"email": suspended.email, "password": PASSWORD})
    assert response.status_code == 200
    assert client_for(suspended).post("/api/v1/feed/events", {"events": []}).status_code != 403


def test_consent_can_be_withdrawn_while_suspended(client_for, suspended):
    """Revoking someone's use of your likeness never waits for a suspension to end."""
    cameo = CameoFactory(owner=suspended, audience="approved")
    grant = CameoGrantFactory(cameo=cameo)
    cameo_services.grant_approve(grant=grant, by=suspended)
    response = client_for(suspended).post(f"/api/v1/cameos/{cameo.id}/grants/{grant.id}/revoke")
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.status == "revoked"


def _routes():
    placeholders = {"IntConverter": 999999, "UUIDConverter": uuid.UUID(int=999999)}
    for pattern in api_v1:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback.view_class
        kwargs = {name: placeholders.get(type(converter).__name__, "someone")
                  for name, converter in pattern.pattern.converters.items()}  # fmt: skip
        for method in UNSAFE:
            if hasattr(view, method):
                yield pattern.name, view, method, reverse(pattern.name, kwargs=kwargs)


@pytest.mark.parametrize(("name", "view", "method", "url"), list(_routes()), ids=lambda v: getattr(v, "__name__", v))
def test_every_write_route_refuses_a_suspended_account(client_for, suspended, name, view, method, url):
    """A new endpoint is covered without anyone remembering to: the rule is the default permission."""
    if not view.authentication_classes:
        pytest.skip("authenticates nobody (sign-up, provider webhooks): there is no account to refuse")
    if method.upper() in ALLOWED_WHILE_SUSPENDED.get(name, ()):
        pytest.skip("allowed while suspended")
    assert_suspended(getattr(client_for(suspended), method)(url), suspended)


def test_the_allowed_list_names_real_routes():
    routes = {(name, method.upper()) for name, _, method, _ in _routes()}
    for name, methods in ALLOWED_WHILE_SUSPENDED.items():
        assert {(name, method) for method in methods} <= routes, name
