"""Every admin list loads and searches; moderators' actions go through the services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from backend.core.models import AuditLogEntry
from tests.factories import AppearanceFactory, CameoFactory, CameoVerificationFactory, UserFactory, VideoFactory

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
    "core_auditlogentry",
    "moderation_blockedterm",
    "moderation_case",
    "moderation_strike",
]
OUR_APPS = {"creators", "videos", "cameos", "moderation", "rights", "media", "feeds"}
# Settings-like tables, and comments (deleted through comment_remove: counted and audited).
DELETED_BY_HAND = {"moderation.blockedterm", "creators.invitecode", "videos.comment"}
DOMAIN_ADMINS = sorted(
    model._meta.label_lower
    for model in admin.site._registry
    if model._meta.app_label in OUR_APPS and model._meta.label_lower not in DELETED_BY_HAND
)


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
    verification = CameoVerificationFactory(
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
    AppearanceFactory(cameo=cameo, video=video)
    staff.post(reverse("admin:cameos_cameo_changelist"), {"action": "suspend", "_selected_action": [cameo.id]})
    cameo.refresh_from_db()
    assert cameo.status == "suspended"
    staff.post(reverse("admin:videos_video_changelist"), {"action": "remove", "_selected_action": [video.id]})
    video.refresh_from_db()
    assert video.status == "removed"
    # A restore re-checks consent: the cameo in it must be usable again first.
    staff.post(reverse("admin:cameos_cameo_changelist"), {"action": "restore", "_selected_action": [cameo.id]})
    staff.post(reverse("admin:videos_video_changelist"), {"action": "restore", "_selected_action": [video.id]})
    video.refresh_from_db()
    assert video.status == "published"
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"cameo.suspend", "cameo.restore", "video.remove", "video.restore"} <= actions


def test_the_audit_log_cannot_be_edited(staff):
    video = VideoFactory()
    from backend.videos import services

    services.video_remove(video=video, by=None, reason="x")
    entry = AuditLogEntry.objects.get()
    assert staff.post(reverse("admin:core_auditlogentry_delete", args=[entry.id]), {"post": "yes"}).status_code == 403
    assert AuditLogEntry.objects.filter(id=entry.id).exists()


@pytest.mark.parametrize("label", DOMAIN_ADMINS)
def test_domain_rows_are_never_hard_deleted_from_the_admin(staff, label):
    """Deleting would skip the services (consent events, takedowns, counters, the audit log)."""
    app_label, model = label.split(".")
    assert staff.get(reverse(f"admin:{app_label}_{model}_delete", args=["1"])).status_code == 403
    action_form = staff.get(reverse(f"admin:{app_label}_{model}_changelist")).context["action_form"]
    assert action_form is None or "delete_selected" not in dict(action_form.fields["action"].choices)
