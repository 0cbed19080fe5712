"""The rights admin: approvals and policies change through the services, audited; nothing is hard-deleted."""

import pytest
from django.urls import reverse

from backend.core.errors import NotFound
from backend.core.models import AuditLogEntry
from backend.rights import services
from backend.rights.models import Character, UsageApproval
from backend.videos import services as video_services
from media.services import render_job_request
from tests.factories import CharacterFactory, RightsHolderFactory, UsageApprovalFactory, UserFactory
from tests.rights.conftest import character, video_with_everyone

pytestmark = pytest.mark.django_db
APPROVALS = reverse("admin:rights_usageapproval_changelist")


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def comet():
    return CharacterFactory(holder__name="Moonbeam Studios", name="Captain Comet", needs_approval=True)


@pytest.mark.parametrize(("action", "status"), [("approve", "approved"), ("deny", "denied")])
def test_approve_and_deny_go_through_the_service_and_are_audited(staff, comet, action, status):
    approval = UsageApprovalFactory(character=comet)
    response = staff.post(APPROVALS, {"action": action, "_selected_action": [approval.id]})
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == status and approval.decided_at is not None
    entry = AuditLogEntry.objects.get(action=f"character.usage_{action}")
    assert (entry.actor, entry.target_type, entry.target_id, entry.before, entry.after) == (
        staff.user, "rights.usageapproval", str(approval.id), {"status": "requested"}, {"status": status})  # fmt: skip


def test_deciding_again_the_same_way_changes_nothing(staff, comet):
    approval = UsageApprovalFactory(character=comet)
    for _ in range(2):
        staff.post(APPROVALS, {"action": "approve", "_selected_action": [approval.id]})
    assert AuditLogEntry.objects.filter(action="character.usage_approve").count() == 1


def test_denying_an_approved_use_cancels_that_requesters_renders(comet, django_capture_on_commit_callbacks):
    requester, other = UserFactory(), UserFactory()
    staff = UserFactory(is_staff=True)
    jobs = {}
    for user in (requester, other):
        approval = services.usage_approval_request(character_id=comet.id, user=user)
        services.usage_approval_decide(approval=approval, by=staff, approve=True)
        jobs[user], _ = render_job_request(requester=user, idempotency_key="k", prompt="Captain Comet", duration_s=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.usage_approval_decide(approval=UsageApproval.objects.get(requester=requester), by=staff, approve=False)
    for job in jobs.values():
        job.refresh_from_db()
    assert (jobs[requester].status, jobs[requester].error_code) == ("cancelled", "character_not_allowed")
    assert jobs[other].status == "queued"


def test_only_staff_or_the_holder_decide(comet):
    approval = UsageApprovalFactory(character=comet)
    with pytest.raises(NotFound):
        services.usage_approval_decide(approval=approval, by=UserFactory(), approve=True)
    member = UserFactory()
    comet.holder.members.add(member)
    assert services.usage_approval_decide(approval=approval, by=member, approve=True).status == "approved"


def test_a_policy_edit_with_other_fields_is_audited_against_the_stored_policy(staff, comet):
    """The form applies every change to the object first; the policy must still be compared with the row."""
    url = reverse("admin:rights_character_change", args=[comet.id])
    # "allowed" is unticked by leaving it out.
    form = {"name": "Captain Comet II", "aliases": "", "reference_image": "", "scope": "anywhere",
            "restrictions": "", "revenue_share_bps": 0, "needs_approval": "on"}  # fmt: skip
    assert staff.post(url, form).status_code == 302
    comet.refresh_from_db()
    assert (comet.name, comet.allowed) == ("Captain Comet II", False)
    entry = AuditLogEntry.objects.get(action="character.policy")
    assert (entry.before, entry.after) == ({"allowed": True}, {"allowed": False})


def test_a_characters_holder_is_fixed(staff, comet):
    other = RightsHolderFactory(name="Other Studio")
    form = {"holder": other.id, "name": comet.name, "aliases": "", "reference_image": "", "allowed": "on",
            "scope": "anywhere", "restrictions": "", "revenue_share_bps": 0, "needs_approval": "on"}  # fmt: skip
    staff.post(reverse("admin:rights_character_change", args=[comet.id]), form)
    assert Character.objects.get(id=comet.id).holder_id == comet.holder_id


@pytest.mark.parametrize("model", ["rightsholder", "character", "usageapproval", "revenueevent", "ledgerentry"])
def test_nothing_is_hard_deleted(staff, comet, model):
    obj = {"rightsholder": comet.holder, "character": comet}.get(model)
    object_id = obj.id if obj else 1
    assert staff.get(reverse(f"admin:rights_{model}_delete", args=[object_id])).status_code == 403
    actions = staff.get(reverse(f"admin:rights_{model}_changelist")).context["action_form"]
    assert actions is None or "delete_selected" not in dict(actions.fields["action"].choices)


def test_approvals_are_not_edited_by_hand(staff, comet):
    approval = UsageApprovalFactory(character=comet)
    url = reverse("admin:rights_usageapproval_change", args=[approval.id])
    assert staff.post(url, {"character": comet.id, "requester": approval.requester_id,
                            "status": "approved"}).status_code == 403  # fmt: skip
    assert UsageApproval.objects.get(id=approval.id).status == "requested"


class TestActionsForHolders:
    def test_holder_asks_to_take_down_published_videos_audited(self, studio, staff):
        from django.urls import reverse

        from backend.core.models import AuditLogEntry

        comet = character(studio[0])
        creator = UserFactory()
        video = video_services.video_create_draft(owner=creator, prompt="Captain Comet")
        services.video_characters_record(video=video, characters=[comet])
        video = video_services.video_publish(video=video, by=creator)
        staff.post(reverse("admin:rights_character_changelist"), {"action": "take_down_videos",
                                                                  "_selected_action": [comet.id]})  # fmt: skip
        video.refresh_from_db()
        assert video.status == "removed"
        assert AuditLogEntry.objects.filter(action="character.take_down").exists()

    def test_statement_export_and_approvals_queue(self, studio, staff):
        from django.urls import reverse

        holder, _ = studio
        video = video_with_everyone(studio)
        services.revenue_event_record(video=video, kind="ad", amount_minor=5000, currency="EUR", external_id="adm")
        response = staff.post(reverse("admin:rights_rightsholder_changelist"),
                              {"action": "this_months_statement", "_selected_action": [holder.id]})  # fmt: skip
        assert "character,Captain Comet,rights_holder,EUR,600" in response.content.decode()
        approval = UsageApprovalFactory(character=Character.objects.get())
        staff.post(reverse("admin:rights_usageapproval_changelist"), {"action": "approve",
                                                                      "_selected_action": [approval.id]})  # fmt: skip
        approval.refresh_from_db()
        assert approval.status == "approved"
        for model in ("revenueevent", "ledgerentry", "character", "usageapproval"):
            assert staff.get(reverse(f"admin:rights_{model}_changelist")).status_code == 200
