import pytest
from django.urls import reverse

from backend.creators import services
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
