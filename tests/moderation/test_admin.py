"""The review queue's actions go through the services and show the moderator every refusal."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.cameos.models import Appearance
from backend.core.models import AuditLogEntry
from backend.moderation import services
from backend.moderation.models import Case, Strike
from backend.videos import services as video_services
from backend.videos.models import Comment, Video
from tests.factories import CameoFactory, UserFactory, VideoFactory

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
    Appearance.objects.create(cameo=cameo, video=video)
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
