"""Every admin list loads and searches; moderators' actions go through the services."""

import pytest
from django.urls import reverse

from backend.cameos.models import Appearance, CameoVerification
from backend.moderation.models import AuditLogEntry
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "cameos_cameo",
    "cameos_cameoverification",
    "cameos_cameogrant",
    "cameos_appearance",
    "cameos_protectedlikeness",
    "videos_video",
    "videos_comment",
    "videos_hashtag",
    "media_renderjob",
    "moderation_auditlogentry",
    "moderation_blockedterm",
]


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_loads_and_searches(staff, model):
    CameoFactory()
    VideoFactory(caption="hello")
    assert staff.get(reverse(f"admin:{model}_changelist"), {"q": "hello"}).status_code == 200


def test_verification_queue_plays_the_clip_and_approves(staff):
    cameo = CameoFactory(kind="person", status="pending_verification")
    verification = CameoVerification.objects.create(
        cameo=cameo,
        phrase="amber river 42",
        expires_at="2099-01-01T00:00Z",
        status="submitted",
        clip="cameos/1/clip.mp4",
    )
    page = staff.get(reverse("admin:cameos_cameoverification_change", args=[verification.id]))
    assert b"<video" in page.content and b"amber river 42" in page.content
    response = staff.post(
        reverse("admin:cameos_cameoverification_changelist"),
        {"action": "approve", "_selected_action": [verification.id]},
    )
    assert response.status_code == 302
    cameo.refresh_from_db()
    assert cameo.status == "active"


def test_bulk_suspend_and_video_remove_restore_are_audited(staff):
    cameo = CameoFactory()
    video = VideoFactory()
    Appearance.objects.create(cameo=cameo, video=video)
    staff.post(reverse("admin:cameos_cameo_changelist"), {"action": "suspend", "_selected_action": [cameo.id]})
    cameo.refresh_from_db()
    assert cameo.status == "suspended"
    staff.post(reverse("admin:videos_video_changelist"), {"action": "remove", "_selected_action": [video.id]})
    video.refresh_from_db()
    assert video.status == "removed"
    staff.post(reverse("admin:videos_video_changelist"), {"action": "restore", "_selected_action": [video.id]})
    video.refresh_from_db()
    assert video.status == "published"
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"cameo.suspend", "video.remove", "video.restore"} <= actions


def test_the_audit_log_cannot_be_edited(staff):
    video = VideoFactory()
    from backend.videos import services

    services.video_remove(video=video, by=None, reason="x")
    entry = AuditLogEntry.objects.get()
    assert (
        staff.post(reverse("admin:moderation_auditlogentry_delete", args=[entry.id]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditLogEntry.objects.filter(id=entry.id).exists()
