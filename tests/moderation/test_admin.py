"""The review queue's actions go through the services and show the moderator every refusal."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.core.models import AuditLogEntry
from backend.moderation import services
from backend.moderation.models import Case, Strike
from backend.videos import services as video_services
from backend.videos.models import Comment, Video
from feeds import store
from tests.factories import AppearanceFactory, CameoFactory, CaseFactory, UserFactory, VideoFactory
from tests.moderation.conftest import report

pytestmark = pytest.mark.django_db
CASES = reverse("admin:moderation_case_changelist")


@pytest.fixture
def moderator(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    client.force_login(user)
    client.user = user
    return client


def messages_of(response):
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def test_a_refused_restore_says_why_and_leaves_the_case_open(moderator):
    video = VideoFactory()
    cameo = CameoFactory()
    AppearanceFactory(cameo=cameo, video=video)
    services.report_create(reporter=UserFactory(), target_type="video", target_id=video.id, reason="other")
    case = Case.objects.get()
    video_services.video_remove(video=video, by=None, reason="taken down")
    cameo.status = "suspended"
    cameo.save(update_fields=["status"])

    response = moderator.post(CASES, {"action": "restore_target", "_selected_action": [case.id], "reason": "appeal"})

    errors = [text for level, text in messages_of(response) if level == "error"]
    assert errors == [f"Case {case.id} (video {video.id}): A cameo in this video may no longer be used by its creator."]
    assert ("info", "0 case(s): restored.") in messages_of(response)
    assert Video.objects.get(id=video.id).status == "removed"
    assert Case.objects.get(id=case.id).status == "open"


def test_removing_a_reported_comment_is_counted_and_audited(moderator):
    video = VideoFactory()
    comment = video_services.comment_create(video=video, author=UserFactory(), body="rude")
    services.report_create(reporter=UserFactory(), target_type="comment", target_id=comment.id, reason="hate")
    case = Case.objects.get()
    moderator.post(CASES, {"action": "remove_target", "_selected_action": [case.id], "reason": "hate speech"})
    assert not Comment.objects.filter(id=comment.id).exists()
    assert Video.objects.get(id=video.id).comment_count == 0
    entry = AuditLogEntry.objects.get(action="comment.remove")
    assert (entry.actor, entry.reason) == (moderator.user, "hate speech")
    assert Case.objects.get(id=case.id).status == "resolved"


def test_cases_and_strikes_are_not_edited_or_deleted_by_hand(moderator, client):
    video = VideoFactory()
    services.report_create(reporter=UserFactory(), target_type="video", target_id=video.id, reason="spam")
    case = Case.objects.get()
    strike = services.strike_add(user=video.owner, by=moderator.user, reason="spam")
    change = moderator.post(reverse("admin:moderation_case_change", args=[case.id]), {"status": "resolved"})
    assert change.status_code == 403
    assert Case.objects.get(id=case.id).status == "open"
    assert moderator.get(reverse("admin:moderation_strike_add")).status_code == 403
    assert (
        moderator.post(reverse("admin:moderation_strike_delete", args=[strike.id]), {"post": "yes"}).status_code == 403
    )
    assert Strike.objects.filter(id=strike.id).exists()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.post(reverse("admin:moderation_case_delete", args=[case.id]), {"post": "yes"}).status_code == 403


class TestReviewQueueAsAModerator:
    def test_triage_remove_vanishes_from_feeds_then_restore(
        self, moderator, client_for, django_capture_on_commit_callbacks, monkeypatch, settings
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
        reopened = CaseFactory(target_id=video.id)
        with django_capture_on_commit_callbacks(execute=True):
            moderator.post(changelist, {"action": "restore_target", "_selected_action": [reopened.id],
                                        "reason": "appeal granted"})  # fmt: skip
        video.refresh_from_db()
        assert video.status == "published"
        store.redis().delete(store.feed_key(viewer.id, store.FOR_YOU), *store.seen_keys(viewer.id))
        # The personal feed built again holds it (the shared first pages take it back on their next refresh).
        settings.FEED_SHARED_FIRST_PAGE = False
        assert video.id in [c["id"] for c in client_for(viewer).get("/api/v1/feed").json()["results"]]

    def test_age_restrict_and_suspend_cameo_and_strike(self, moderator, client_for):
        video = VideoFactory()
        cameo = CameoFactory()
        AppearanceFactory(cameo=cameo, video=video)
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
