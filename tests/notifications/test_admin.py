"""The notifications admin: moderators look at a person's items from a case; operators at failed pushes."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from notifications.models import Kind, Notification, PushFailure
from tests.factories import CaseFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
NOTIFICATIONS = reverse("admin:notifications_notification_changelist")
FAILURES = reverse("admin:notifications_pushfailure_changelist")


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def moderator(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    client.force_login(user)
    return client


def item(recipient, key="grant:1"):
    return Notification.objects.create(
        recipient=recipient,
        kind=Kind.GRANT_REQUESTED,
        group_key=f"consent.grant_requested:{key}",
        target_type="grant",
        target_id="1",
        deep_link="/cameos/1/grants",
    )


def failure(notification, code="UNREGISTERED", permanent=True):
    return PushFailure.objects.create(
        notification=notification, device_token_tail="abc123", provider="fcm", code=code, permanent=permanent
    )


def test_a_moderator_sees_one_persons_items_by_recipient_and_kind(moderator):
    person, other = UserFactory(), UserFactory()
    mine, theirs = item(person), item(other)
    page = moderator.get(NOTIFICATIONS, {"recipient": person.id, "kind__exact": Kind.GRANT_REQUESTED})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [mine]
    assert theirs not in page.context["cl"].result_list
    assert moderator.get(NOTIFICATIONS, {"q": person.handle}).status_code == 200


def test_an_item_is_shown_not_edited_nor_deleted(moderator, staff):
    notification = item(UserFactory())
    failure(notification)
    for client in (moderator, staff):
        page = client.get(reverse("admin:notifications_notification_change", args=[notification.id]))
        assert page.status_code == 200
        assert b"UNREGISTERED" in page.content  # its failed pushes, inline
        assert b'name="_save"' not in page.content
    assert staff.get(reverse("admin:notifications_notification_delete", args=[notification.id])).status_code == 403


def test_operators_see_failures_newest_first_by_code_and_permanence(staff):
    notification = item(UserFactory())
    old = failure(notification, code="QUOTA_EXCEEDED", permanent=False)
    new = failure(notification)
    page = staff.get(FAILURES)
    assert list(page.context["cl"].result_list) == [new, old]
    page = staff.get(FAILURES, {"code": "QUOTA_EXCEEDED", "permanent__exact": "0"})
    assert list(page.context["cl"].result_list) == [old]
    assert staff.get(reverse("admin:notifications_pushfailure_change", args=[old.id])).status_code == 200


def test_a_moderator_does_not_see_push_failures(moderator):
    assert moderator.get(FAILURES).status_code == 403


def test_a_case_links_to_the_creators_notifications(moderator):
    video = VideoFactory()
    case = CaseFactory(target_type="video", target_id=video.id)
    page = moderator.get(reverse("admin:moderation_case_change", args=[case.id]))
    assert f"{NOTIFICATIONS}?recipient={video.owner_id}".encode() in page.content
