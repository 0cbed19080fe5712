"""The moderators' side: the verification queue, actions through the services, no hand edits."""

import pytest
from django.urls import reverse

from backend.cameos.models import Cameo, CameoVerification
from backend.core.models import AuditLogEntry
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    CameoVerificationFactory,
    PersonCameoFactory,
    ProtectedLikenessFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def queue(staff, **params):
    response = staff.get(reverse("admin:cameos_cameoverification_changelist"), params)
    assert response.status_code == 200
    return {verification.id for verification in response.context["cl"].result_list}


def test_the_queue_opens_on_submitted_clips_and_shows_others_on_request(staff):
    submitted = CameoVerificationFactory(status="submitted", clip="cameos/1/a.mp4")
    issued = CameoVerificationFactory()
    assert queue(staff) == {submitted.id}
    assert queue(staff, queue="issued") == {issued.id}
    assert queue(staff, queue="all") == {submitted.id, issued.id}


def test_a_protected_name_is_flagged_and_approved_only_as_that_person(staff):
    likeness = ProtectedLikenessFactory(name="Nova Starling")
    verification = CameoVerificationFactory(
        cameo=PersonCameoFactory(display_name="nova starling"), status="submitted", clip="cameos/1/a.mp4"
    )
    changelist = reverse("admin:cameos_cameoverification_changelist")
    assert b"Nova Starling" in staff.get(changelist).content  # the protected name, flagged in its column
    staff.post(changelist, {"action": "approve", "_selected_action": [verification.id]})
    assert Cameo.objects.get(id=verification.cameo_id).status == "pending_verification"
    staff.post(changelist, {"action": "approve_as_protected", "_selected_action": [verification.id]})
    cameo = Cameo.objects.get(id=verification.cameo_id)
    assert (cameo.status, cameo.protected_likeness_id) == ("active", likeness.id)


def test_reject_and_restore_go_through_the_services(staff):
    verification = CameoVerificationFactory(status="submitted", clip="cameos/1/a.mp4")
    staff.post(
        reverse("admin:cameos_cameoverification_changelist"),
        {"action": "reject", "_selected_action": [verification.id]},
    )
    assert CameoVerification.objects.get(id=verification.id).status == "rejected"
    cameo = CameoFactory(status="suspended")
    staff.post(reverse("admin:cameos_cameo_changelist"), {"action": "restore", "_selected_action": [cameo.id]})
    assert Cameo.objects.get(id=cameo.id).status == "active"
    assert {"cameo.verification_reject", "cameo.restore"} <= set(AuditLogEntry.objects.values_list("action", flat=True))


def test_the_cameo_page_plays_its_media_through_signed_links(staff):
    media = {"reference_image": "cameos/1/r.jpg", "reference_clip": "cameos/1/c.mp4", "voice_sample": "cameos/1/v.m4a"}
    cameo = CameoFactory(**media)
    page = staff.get(reverse("admin:cameos_cameo_change", args=[cameo.id])).content
    assert page.count(b"/media/private/") == 3 and b"<video" in page and b"<audio" in page


@pytest.mark.parametrize("model", ["cameo", "cameogrant", "appearance", "cameoverification"])
def test_consent_records_are_not_added_or_deleted_by_hand(staff, model):
    obj = {
        "cameo": CameoFactory,
        "cameogrant": CameoGrantFactory,
        "appearance": AppearanceFactory,
        "cameoverification": CameoVerificationFactory,
    }[model]()
    assert staff.get(reverse(f"admin:cameos_{model}_add")).status_code == 403
    assert staff.post(reverse(f"admin:cameos_{model}_delete", args=[obj.id]), {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(id=obj.id).exists()
