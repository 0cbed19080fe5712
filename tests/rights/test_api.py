"""The rights API: characters listed with their policy, a refused character through the render API, statements."""

import pytest

from backend.rights import services
from backend.rights.models import RevenueEvent
from tests.factories import UserFactory
from tests.rights.conftest import character, video_with_everyone

pytestmark = pytest.mark.django_db


class TestCharacters:
    def test_via_the_api_the_refusal_is_403(self, studio, client_for):
        character(studio[0], allowed=False)
        response = client_for(UserFactory()).post("/api/v1/renders", {"prompt": "captain comet", "duration_s": 5},
                                                  format="json", HTTP_IDEMPOTENCY_KEY="x")  # fmt: skip
        assert (response.status_code, response.data["error"]["code"]) == (403, "character_not_allowed")

    def test_characters_are_listed_with_their_policy(self, studio, api_client):
        character(studio[0], needs_approval=True, revenue_share_bps=1500)
        body = api_client.get("/api/v1/characters").data["results"][0]
        assert (body["name"], body["holder"], body["aliases"], body["needs_approval"]) == (
            "Captain Comet", "Moonbeam Studios", ["The Comet"], True)  # fmt: skip


class TestStatements:
    def test_statements_per_video_and_character_with_csv(self, studio, client_for):
        _, member = studio
        video = video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=10_000, currency="EUR", external_id="s1")
        period = RevenueEvent.objects.get().created_at.strftime("%Y-%m")
        creator = client_for(video.owner).get("/api/v1/rights/statements", {"period": period}).data
        assert creator["totals"] == {"EUR": 3300}
        assert creator["per_video"][str(video.id)]["EUR"]["creator"] == 3300  # JSON object keys are text
        studio_view = client_for(member).get("/api/v1/rights/statements", {"period": period}).data
        assert studio_view["per_character"] == {"Captain Comet": {"EUR": 1200}}
        csv = client_for(member).get("/api/v1/rights/statements", {"period": period, "export": "csv"})
        assert csv["Content-Type"] == "text/csv"
        assert "character,Captain Comet,rights_holder,EUR,1200" in csv.content.decode()
        for period in ("2026-13", "0000-01", "9999-12", "26-01"):
            response = client_for(member).get("/api/v1/rights/statements", {"period": period})
            assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_period")
