"""The prompt moderation provider (backend/moderation/providers.py) against a local fake of its API."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class TestModerationProvider:
    @pytest.fixture
    def openai(self, settings):
        from tests.fake_providers import FakeServer

        fake = FakeServer().start()
        settings.MODERATION_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = fake.url
        settings.OPENAI_API_KEY = "sk-test"
        yield fake
        fake.stop()

    @staticmethod
    def verdict(flagged, **categories):
        return (200, {"id": "modr-1", "model": "omni-moderation-latest",
                      "results": [{"flagged": flagged, "categories": categories,
                                   "category_scores": {k: 0.9 for k in categories}}]})  # fmt: skip

    def test_refused_categories_block_the_render_and_are_recorded(self, openai, client_for):
        from media.models import RenderJob

        openai.script["POST /v1/moderations"] = [self.verdict(True, **{"violence/graphic": True, "violence": True})]
        response = client_for(UserFactory()).post("/api/v1/renders", {"prompt": "something awful", "duration_s": 5},
                                                  format="json", HTTP_IDEMPOTENCY_KEY="m1")  # fmt: skip
        assert (response.status_code, response.data["error"]["code"]) == (403, "prompt_flagged")
        job = RenderJob.objects.get()
        assert (job.status, job.moderation_flags) == ("blocked", ["violence", "violence/graphic"])
        sent = openai.requests[0]
        assert sent.body == {"model": "omni-moderation-latest", "input": "something awful"}
        assert sent.headers["Authorization"] == "Bearer sk-test"

    def test_other_flags_only_mark_the_job_for_review(self, openai, client_for):
        from media.models import RenderJob

        openai.script["POST /v1/moderations"] = [self.verdict(True, harassment=True)]
        response = client_for(UserFactory()).post("/api/v1/renders", {"prompt": "a roast battle", "duration_s": 5},
                                                  format="json", HTTP_IDEMPOTENCY_KEY="m2")  # fmt: skip
        assert response.status_code == 201
        assert RenderJob.objects.get().moderation_flags == ["harassment"]
