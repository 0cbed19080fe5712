"""The inbox API: anonymous, someone else's, allowed; bad input in the error envelope."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Kind, Notification, Preference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
INBOX = "/api/v1/notifications"


def grant_requested(recipient, actor, key):
    return services.notify(
        recipient_id=recipient.id,
        kind=Kind.GRANT_REQUESTED,
        key=key,
        target_type="grant",
        target_id=7,
        deep_link="/cameos/3/grants",
        actor_id=actor.id,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", INBOX),
        ("post", f"{INBOX}/read"),
        ("post", f"{INBOX}/1/read"),
        ("get", f"{INBOX}/preferences"),
        ("put", f"{INBOX}/preferences"),
    ],
)
def test_anonymous_gets_401_in_the_envelope(api_client, method, path):
    response = getattr(api_client, method)(path, format="json")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details", "request_id"}


class TestInbox:
    def test_a_page_with_its_items_and_unread_count(self, client_for):
        recipient, actor = UserFactory(), UserFactory(display_name="Maya")
        notification = grant_requested(recipient, actor, "grant:7")
        body = client_for(recipient).get(INBOX).json()
        assert body["next"] is None
        assert body["unread_count"] == 1
        assert body["results"] == [
            {
                "id": notification.id,
                "kind": "consent.grant_requested",
                "actors": [{"handle": actor.handle, "display_name": "Maya", "avatar": None}],
                "actor_count": 1,
                "target": {"type": "grant", "id": "7"},
                "deep_link": "/cameos/3/grants",
                "data": {},
                "created_at": body["results"][0]["created_at"],
                "updated_at": body["results"][0]["updated_at"],
                "read": False,
            }
        ]

    def test_pages_follow_next(self, client_for):
        recipient, actor = UserFactory(), UserFactory()
        for index in range(25):
            grant_requested(recipient, actor, f"grant:{index}")
        client = client_for(recipient)
        first = client.get(INBOX).json()
        second = client.get(INBOX, {"cursor": first["next"]}).json()
        assert (len(first["results"]), len(second["results"]), second["next"]) == (20, 5, None)
        assert second["unread_count"] == 25
        assert not {n["id"] for n in first["results"]} & {n["id"] for n in second["results"]}

    def test_nobody_sees_someone_elses_items(self, client_for):
        grant_requested(UserFactory(), UserFactory(), "grant:1")
        body = client_for(UserFactory()).get(INBOX).json()
        assert (body["results"], body["unread_count"]) == ([], 0)

    def test_a_bad_cursor_is_a_400(self, client_for):
        response = client_for(UserFactory()).get(INBOX, {"cursor": "forged"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"

    def test_the_query_count_does_not_grow_with_the_page(self, client_for, django_assert_num_queries):
        recipient = UserFactory()
        for index in range(20):
            grant_requested(recipient, UserFactory(), f"grant:{index}")
        client = client_for(recipient)
        # The user (JWT), the items, their actors, the unread count.
        with django_assert_num_queries(4):
            assert len(client.get(INBOX).json()["results"]) == 20


class TestMarkRead:
    def test_given_ids_and_someone_elses_are_ignored(self, client_for):
        recipient = UserFactory()
        mine = [grant_requested(recipient, UserFactory(), f"grant:{index}") for index in range(2)]
        theirs = grant_requested(UserFactory(), UserFactory(), "grant:9")
        response = client_for(recipient).post(f"{INBOX}/read", {"ids": [mine[0].id, theirs.id]}, format="json")
        assert response.status_code == 200
        assert response.json() == {"marked": 1, "unread_count": 1}
        assert Notification.objects.get(id=theirs.id).read_at is None

    def test_all(self, client_for):
        recipient = UserFactory()
        for index in range(3):
            grant_requested(recipient, UserFactory(), f"grant:{index}")
        response = client_for(recipient).post(f"{INBOX}/read", {"all": True}, format="json")
        assert response.json() == {"marked": 3, "unread_count": 0}
        assert client_for(recipient).get(INBOX).json()["results"][0]["read"] is True

    @pytest.mark.parametrize(
        "body",
        [{}, {"all": False}, {"ids": []}, {"ids": ["x"]}, {"ids": [1], "all": True}, {"ids": 5}],
    )
    def test_bad_input_is_a_400_in_the_envelope(self, client_for, body):
        response = client_for(UserFactory()).post(f"{INBOX}/read", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"

    def test_one(self, client_for):
        recipient = UserFactory()
        notification = grant_requested(recipient, UserFactory(), "grant:1")
        response = client_for(recipient).post(f"{INBOX}/{notification.id}/read")
        assert response.status_code == 200
        assert response.json() == {"marked": 1, "unread_count": 0}
        assert client_for(recipient).post(f"{INBOX}/{notification.id}/read").json()["marked"] == 0

    def test_someone_elses_or_no_such_item_is_a_404(self, client_for):
        notification = grant_requested(UserFactory(), UserFactory(), "grant:1")
        client = client_for(UserFactory())
        for notification_id in (notification.id, 999_999):
            response = client.post(f"{INBOX}/{notification_id}/read")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
        assert Notification.objects.get().read_at is None

    def test_a_suspended_account_may_still_clear_its_inbox(self, client_for):
        recipient = UserFactory(suspended_until=timezone.now() + timedelta(days=3))
        grant_requested(recipient, UserFactory(), "grant:1")
        assert client_for(recipient).post(f"{INBOX}/read", {"all": True}, format="json").status_code == 200


class TestPreferences:
    def test_lists_every_kind_and_channel(self, client_for):
        body = client_for(UserFactory()).get(f"{INBOX}/preferences").json()
        assert len(body) == len(Kind) * 2
        assert {"kind": "likeness.render", "channel": "push", "enabled": True, "mandatory": True} in body

    def test_put_switches_off_and_returns_the_whole_list(self, client_for):
        user = UserFactory()
        changes = [{"kind": "social.like", "channel": "push", "enabled": False}]
        response = client_for(user).put(f"{INBOX}/preferences", changes, format="json")
        assert response.status_code == 200
        assert {"kind": "social.like", "channel": "push", "enabled": False, "mandatory": False} in response.json()
        assert Preference.objects.filter(user=user, enabled=False).count() == 1

    def test_a_likeness_kind_cannot_be_switched_off(self, client_for):
        user = UserFactory()
        changes = [
            {"kind": "social.like", "channel": "push", "enabled": False},
            {"kind": "likeness.published", "channel": "inbox", "enabled": False},
        ]
        response = client_for(user).put(f"{INBOX}/preferences", changes, format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "notification_kind_mandatory"
        assert error["details"] == {"kind": "likeness.published", "channel": "inbox"}
        assert not Preference.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [
            [{"kind": "social.nope", "channel": "push", "enabled": False}],
            [{"kind": "social.like", "channel": "sms", "enabled": False}],
            [{"kind": "social.like", "channel": "push"}],
            {"kind": "social.like", "channel": "push", "enabled": False},
        ],
    )
    def test_bad_input_is_a_400(self, client_for, body):
        response = client_for(UserFactory()).put(f"{INBOX}/preferences", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
