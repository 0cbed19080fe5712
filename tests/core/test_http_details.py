"""HTTP details a mobile client relies on: every 429 and 503 says when to come back, every 201 says where
the created resource is."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.throttling import UserRateThrottle

from media.models import RenderJob
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def render(client, key):
    return client.post(
        "/api/v1/renders", {"prompt": "a dragon learning to skate", "duration_s": 5}, HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.fixture
def queued(monkeypatch):
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: None)


class TestRetryAfter:
    def test_a_throttled_request(self, client_for, monkeypatch):
        monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"})
        client = client_for(UserFactory())
        client.get("/api/v1/me")
        response = client.get("/api/v1/me")
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 60

    def test_the_concurrent_render_cap(self, client_for, user, queued, settings):
        settings.TIER_QUOTAS = {
            **settings.TIER_QUOTAS,
            "free": {**settings.TIER_QUOTAS["free"], "concurrent_renders": 1},
        }
        client = client_for(user)
        assert render(client, "a").status_code == 201
        response = render(client, "b")
        assert (response.status_code, response["Retry-After"]) == (429, "30")

    def test_the_daily_render_cap_says_when_the_oldest_render_leaves_the_window(
        self, client_for, user, queued, settings
    ):
        settings.TIER_QUOTAS = {**settings.TIER_QUOTAS, "free": {**settings.TIER_QUOTAS["free"], "daily_renders": 1}}
        client = client_for(user)
        render(client, "a")
        RenderJob.objects.filter(requester=user).update(
            status="succeeded", created_at=timezone.now() - timedelta(hours=23)
        )
        response = render(client, "b")
        assert response.data["error"]["code"] == "daily_render_limit"
        assert 3500 <= int(response["Retry-After"]) <= 3602  # an hour left of the 24

    def test_a_minor_at_the_daily_feed_limit_comes_back_tomorrow(self, client_for, settings):
        settings.FEED_TEEN_DAILY_CARDS = 0
        teen = UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15))
        response = client_for(teen).get("/api/v1/feed")
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 24 * 3600 + 1


class TestLocation:
    def test_a_render(self, client_for, user, queued):
        response = render(client_for(user), "a")
        assert response["Location"] == f"http://testserver/api/v1/renders/{response.data['id']}"
        again = render(client_for(user), "a")  # the same request again: 200, nothing created
        assert (again.status_code, again.has_header("Location")) == (200, False)

    def test_a_cameo_and_its_verification(self, client_for, user):
        client = client_for(user)
        response = client.post("/api/v1/cameos", {"kind": "character", "display_name": "Rex"}, format="json")
        assert (response.status_code, response["Location"]) == (
            201,
            f"http://testserver/api/v1/cameos/{response.data['id']}",
        )

    def test_a_grant_request(self, client_for):
        cameo = CameoFactory(audience="approved")
        response = client_for(UserFactory()).post(f"/api/v1/cameos/{cameo.id}/grants")
        assert (response.status_code, response["Location"]) == (
            201,
            f"http://testserver/api/v1/cameos/{cameo.id}/grants",
        )

    def test_a_comment(self, client_for, user):
        video = VideoFactory()
        response = client_for(user).post(f"/api/v1/videos/{video.id}/comments", {"body": "nice"}, format="json")
        assert response.status_code == 201
        assert response["Location"] == f"http://testserver/api/v1/videos/{video.id}/comments/{response.data['id']}"

    def test_registering(self, api_client):
        body = {"email": "new@example.com", "password": "a long enough password", "handle": "newcomer"}
        response = api_client.post("/api/v1/auth/register", body, format="json")
        assert (response.status_code, response["Location"]) == (201, "http://testserver/api/v1/me")
