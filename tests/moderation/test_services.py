"""Moderation services: strikes and what a suspension stops (reports and cases: test_api.py, test_admin.py)."""

import pytest
from django.utils import timezone

from backend.creators import services as creator_services
from backend.moderation import services
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


class TestStrikesAndSuspensions:
    def test_enough_active_strikes_suspend_and_expired_ones_do_not_count(self, settings, client_for):
        settings.STRIKES_TO_SUSPEND = 2
        creator, mod = UserFactory(), UserFactory(is_staff=True)
        old = services.strike_add(user=creator, by=mod, reason="old")
        old.expires_at = timezone.now()
        old.save()
        services.strike_add(user=creator, by=mod, reason="first")
        creator.refresh_from_db()
        assert creator.suspended_until is None
        services.strike_add(user=creator, by=mod, reason="second")
        creator.refresh_from_db()
        assert creator.suspended_until > timezone.now()

    def test_a_suspended_account_cannot_render_publish_comment_or_ask_for_cameos(self, client_for):
        creator = UserFactory()
        creator_services.account_suspend(user=creator, by=None, reason="test", days=3)
        creator.refresh_from_db()
        client = client_for(creator)
        draft = VideoFactory(owner=creator, status="draft", published_at=None)
        cameo = CameoFactory(audience="approved")
        attempts = [
            client.post("/api/v1/renders", {"prompt": "x", "duration_s": 5}, format="json", HTTP_IDEMPOTENCY_KEY="k"),
            client.post(f"/api/v1/videos/{draft.id}/publish", {}, format="json"),
            client.post(f"/api/v1/videos/{VideoFactory().id}/comments", {"body": "hi"}, format="json"),
            client.post(f"/api/v1/cameos/{cameo.id}/grants"),
        ]
        for response in attempts:
            assert (response.status_code, response.data["error"]["code"]) == (403, "account_suspended")
            assert response.data["error"]["details"]["until"] == creator.suspended_until.isoformat()
            assert "until" in response.data["error"]["message"]
        assert client.get("/api/v1/me").status_code == 200  # browsing still works
