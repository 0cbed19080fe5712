import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backend.core.models import AuditLogEntry
from backend.creators import services
from backend.creators.admin import UserAdmin
from backend.creators.models import User
from tests.factories import InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.mark.parametrize("model", ["user", "follow", "block", "invitecode"])
def test_changelists_load_and_search(staff_client, model):
    ana, bea = UserFactory(handle="ana"), UserFactory(handle="bea")
    services.follow_create(follower=ana, followee=bea)
    services.block_create(blocker=bea, blocked=UserFactory(handle="cid"))
    InviteCodeFactory(note="for ana")
    url = reverse(f"admin:creators_{model}_changelist")
    response = staff_client.get(url, {"q": "ana"})
    assert response.status_code == 200
    assert b"ana" in response.content


def test_staff_can_create_an_invite_code_recorded_as_theirs(staff_client):
    url = reverse("admin:creators_invitecode_add")
    form = {"code": "launch-party", "max_uses": 50, "note": "launch", "is_active": "on"}
    inline_management = {
        "redemptions-TOTAL_FORMS": 0,
        "redemptions-INITIAL_FORMS": 0,
        "redemptions-MIN_NUM_FORMS": 0,
        "redemptions-MAX_NUM_FORMS": 1000,
    }
    response = staff_client.post(url, form | inline_management)
    assert response.status_code == 302
    from backend.creators.models import InviteCode

    invite = InviteCode.objects.get(code="launch-party")
    assert invite.created_by.is_staff


def test_non_staff_cannot_open_the_admin(client):
    client.force_login(UserFactory())
    assert client.get(reverse("admin:creators_user_changelist")).status_code == 302


def test_suspending_goes_through_the_service_with_a_reason(staff_client):
    target = UserFactory()
    url = reverse("admin:creators_user_changelist")
    staff_client.post(url, {"action": "suspend", "_selected_action": [target.id], "reason": ""})
    target.refresh_from_db()
    assert target.suspended_until is None  # nothing happens without a reason
    staff_client.post(url, {"action": "suspend", "_selected_action": [target.id], "reason": "spam wave"})
    target.refresh_from_db()
    assert target.suspended_until is not None
    entry = AuditLogEntry.objects.get(action="account.suspend")
    assert (entry.target_id, entry.reason) == (str(target.id), "spam wave")


def test_the_suspension_is_not_edited_by_hand_and_an_edit_saves_only_what_changed(staff_client, monkeypatch):
    target = UserFactory(handle="target", display_name="Before")
    page = staff_client.get(reverse("admin:creators_user_change", args=[target.id])).content.decode()
    assert 'name="suspended_until' not in page
    loaded = UserAdmin.get_object

    def get_object_then_a_follow_lands(self, request, object_id, from_field=None):
        user = loaded(self, request, object_id, from_field)
        User.objects.filter(id=target.id).update(follower_count=7)  # after the admin read the row
        return user

    monkeypatch.setattr(UserAdmin, "get_object", get_object_then_a_follow_lands)
    form = {"email": target.email, "handle": "target", "display_name": "After", "bio": "", "tier": "free",
            "is_active": "on", "suspended_until_0": "2099-01-01", "suspended_until_1": "00:00:00"}  # fmt: skip
    assert staff_client.post(reverse("admin:creators_user_change", args=[target.id]), form).status_code == 302
    target.refresh_from_db()
    assert (target.display_name, target.suspended_until, target.follower_count) == ("After", None, 7)


@pytest.mark.parametrize("model", ["user", "follow", "block"])
def test_accounts_follows_and_blocks_are_not_deleted_by_hand(staff_client, model):
    ana, bea = UserFactory(), UserFactory()
    obj = {"user": lambda: ana, "follow": lambda: services.follow_create(follower=ana, followee=bea),
           "block": lambda: services.block_create(blocker=ana, blocked=bea)}[model]()  # fmt: skip
    assert (
        staff_client.post(reverse(f"admin:creators_{model}_delete", args=[obj.id]), {"post": "yes"}).status_code == 403
    )
    assert type(obj).objects.filter(id=obj.id).exists()
    if model != "user":
        assert staff_client.get(reverse(f"admin:creators_{model}_add")).status_code == 403


def test_moderators_are_not_offered_account_actions(client):
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name="moderators"))
    client.force_login(moderator)
    assert client.get(reverse("admin:creators_user_changelist")).context["action_form"] is None
