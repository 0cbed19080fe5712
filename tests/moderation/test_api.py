import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from backend.cameos.models import Appearance
from backend.core.models import AuditLogEntry
from backend.creators import services as creator_services
from backend.moderation import services
from backend.moderation.models import Case, Report
from feeds import store
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
REPORTS = "/api/v1/reports"


def report(client, target_type, target_id, reason="spam", **extra):
    body = {"target_type": target_type, "target_id": target_id, "reason": reason, **extra}
    return client.post(REPORTS, body, format="json")


class TestReports:
    def test_reports_group_into_one_case_and_a_repeat_is_merged(self, client_for):
        video = VideoFactory()
        ana, bea = UserFactory(), UserFactory()
        assert report(client_for(ana), "video", video.id).status_code == 201
        assert report(client_for(ana), "video", video.id, "violence", details="gore at 0:03").status_code == 201
        report(client_for(bea), "video", video.id)
        case = Case.objects.get()
        assert case.reporter_count == 2 and Report.objects.count() == 2
        assert Report.objects.get(reporter=ana).reason == "violence"

    def test_cameo_owner_reports_of_misuse_go_to_the_top(self, client_for):
        noisy = VideoFactory()
        for _ in range(5):
            report(client_for(UserFactory()), "video", noisy.id, "violence")
        misused = VideoFactory()
        cameo = CameoFactory()
        Appearance.objects.create(cameo=cameo, video=misused)
        report(client_for(cameo.owner), "video", misused.id, "cameo_misuse")
        assert [case.target_id for case in Case.objects.all()] == [misused.id, noisy.id]

    def test_bad_reports(self, client_for, api_client):
        client = client_for(UserFactory())
        assert report(client, "video", 999999).status_code == 404
        assert report(client, "planet", 1).status_code == 400
        assert report(client, "video", VideoFactory().id, "because").status_code == 400
        assert report(api_client, "video", 1).status_code == 401


@pytest.fixture
def moderator(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    client.force_login(user)
    client.user = user
    return client


class TestReviewQueueAsAModerator:
    def test_triage_remove_vanishes_from_feeds_then_restore(
        self, moderator, client_for, django_capture_on_commit_callbacks, monkeypatch
    ):
        monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
        video, other = VideoFactory(caption="bad one"), VideoFactory()
        viewer = UserFactory()
        report(client_for(viewer), "video", video.id, "hate")
        case = Case.objects.get()
        queue = moderator.get(reverse("admin:moderation_case_changelist"))
        assert queue.status_code == 200 and f">{case.id}<".encode() in queue.content
        detail = moderator.get(reverse("admin:moderation_case_change", args=[case.id]))
        assert b"prompt" in detail.content and b"lineage" in detail.content
        changelist = reverse("admin:moderation_case_changelist")
        no_reason = moderator.post(changelist, {"action": "remove_target", "_selected_action": [case.id], "reason": ""})
        assert no_reason.status_code == 302
        video.refresh_from_db()
        assert video.status == "published"  # nothing happens without a reason
        with django_capture_on_commit_callbacks(execute=True):
            moderator.post(
                changelist, {"action": "remove_target", "_selected_action": [case.id], "reason": "hate speech"}
            )
        video.refresh_from_db()
        case.refresh_from_db()
        assert (video.status, case.status) == ("removed", "resolved")
        served = [c["id"] for c in client_for(viewer).get("/api/v1/feed").json()["results"]]
        assert video.id not in served and other.id in served
        entry = AuditLogEntry.objects.get(action="video.remove")
        assert (entry.actor, entry.reason, entry.before, entry.after) == (
            moderator.user, "hate speech", {"status": "published"}, {"status": "removed"})  # fmt: skip

        # A removed video is gone for reporters like one that never was; an appeal opens a case.
        assert report(client_for(UserFactory()), "video", video.id, "other").status_code == 404
        reopened = Case.objects.create(target_type="video", target_id=video.id)
        with django_capture_on_commit_callbacks(execute=True):
            moderator.post(changelist, {"action": "restore_target", "_selected_action": [reopened.id],
                                        "reason": "appeal granted"})  # fmt: skip
        video.refresh_from_db()
        assert video.status == "published"
        store.redis().delete(store.feed_key(viewer.id, store.FOR_YOU), store.seen_key(viewer.id))
        assert video.id in [c["id"] for c in client_for(viewer).get("/api/v1/feed").json()["results"]]

    def test_age_restrict_and_suspend_cameo_and_strike(self, moderator, client_for):
        video = VideoFactory()
        cameo = CameoFactory()
        Appearance.objects.create(cameo=cameo, video=video)
        report(client_for(UserFactory()), "video", video.id, "sexual")
        case = Case.objects.get()
        changelist = reverse("admin:moderation_case_changelist")
        moderator.post(changelist, {"action": "age_restrict", "_selected_action": [case.id], "reason": "suggestive"})
        video.refresh_from_db()
        assert video.safe_for_teens is False
        report(client_for(UserFactory()), "video", video.id, "cameo_misuse")
        case = Case.objects.get(status="open")
        moderator.post(changelist, {"action": "suspend_cameo", "_selected_action": [case.id], "reason": "misuse"})
        cameo.refresh_from_db()
        assert cameo.status == "suspended"

    def test_a_moderator_cannot_change_settings_or_accounts(self, moderator):
        target = UserFactory()
        assert moderator.get(reverse("admin:moderation_blockedterm_changelist")).status_code == 403
        assert moderator.get(reverse("admin:creators_invitecode_changelist")).status_code == 403
        assert moderator.get(reverse("admin:creators_user_change", args=[target.id])).status_code == 200  # view only
        assert moderator.post(reverse("admin:creators_user_change", args=[target.id]),
                              {"email": "x@example.com", "handle": "hijack"}).status_code == 403  # fmt: skip
        assert moderator.get(reverse("admin:auth_group_changelist")).status_code == 403
        assert moderator.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 403


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
