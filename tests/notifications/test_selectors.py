"""notifications/selectors: inbox pages, unread count, actors shown, preferences."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.cursors import InvalidCursor, cursor_sign
from notifications import selectors
from notifications.models import Channel, Kind, Notification, Preference
from tests.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def item(recipient, *, actors=(), minutes_ago=0, read=False, key=None):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        recipient=recipient,
        kind=Kind.COMMENT,
        group_key=f"social.comment:{key or Notification.objects.count()}",
        actor_ids=[actor.id for actor in actors],
        actor_count=len(actors),
        target_type="video",
        target_id="1",
        deep_link="/videos/1",
        created_at=at,
        updated_at=at,
        read_at=at if read else None,
    )


def all_pages(user, limit):
    seen, cursor = [], None
    while True:
        page = selectors.inbox(user=user, cursor=cursor, limit=limit)
        seen += [notification.id for notification in page.items]
        if page.next is None:
            return seen
        cursor = page.next


class TestInbox:
    def test_pages_newest_first_without_gaps_or_repeats(self):
        user = UserFactory()
        items = [item(user, minutes_ago=minutes) for minutes in range(7)]
        same_moment = [item(user, minutes_ago=3) for _ in range(2)]  # ties broken by id
        expected = [n.id for n in sorted(items + same_moment, key=lambda n: (n.updated_at, n.id), reverse=True)]
        assert all_pages(user, limit=3) == expected

    def test_only_the_users_own_items(self):
        user, other = UserFactory(), UserFactory()
        mine = item(user)
        item(other)
        assert [n.id for n in selectors.inbox(user=user, cursor=None).items] == [mine.id]

    def test_an_item_that_changed_comes_first(self):
        user = UserFactory()
        old, new = item(user, minutes_ago=10), item(user, minutes_ago=1)
        Notification.objects.filter(id=old.id).update(updated_at=timezone.now())
        assert [n.id for n in selectors.inbox(user=user, cursor=None).items] == [old.id, new.id]

    def test_a_cursor_made_elsewhere_or_malformed_is_refused(self):
        user = UserFactory()
        with pytest.raises(InvalidCursor):
            selectors.inbox(user=user, cursor="nonsense")
        with pytest.raises(InvalidCursor):
            selectors.inbox(user=user, cursor=cursor_sign(["x", "y"], salt="notifications.inbox"))
        with pytest.raises(InvalidCursor):
            selectors.inbox(user=user, cursor=cursor_sign([timezone.now().isoformat(), 1], salt="videos.lineage"))

    def test_actors_are_hydrated_and_gone_ones_left_out(self):
        user = UserFactory()
        kept, deactivated, blocker, blocked = UserFactory(), UserFactory(is_active=False), UserFactory(), UserFactory()
        BlockFactory(blocker=blocker, blocked=user)
        BlockFactory(blocker=user, blocked=blocked)
        shown = item(user, actors=[deactivated, kept, blocker], minutes_ago=1)
        item(user, actors=[blocked], minutes_ago=2)  # nobody left to show: the item is not shown
        no_actor = item(user, minutes_ago=3)
        page = selectors.inbox(user=user, cursor=None)
        assert [n.id for n in page.items] == [shown.id, no_actor.id]
        assert [actor.handle for actor in page.items[0].actors] == [kept.handle]

    def test_a_constant_number_of_queries_per_page(self, django_assert_num_queries):
        user = UserFactory()
        for index in range(20):
            item(user, actors=[UserFactory() for _ in range(3)], minutes_ago=index)
        with django_assert_num_queries(2):  # the items, their actors
            page = selectors.inbox(user=user, cursor=None)
        assert len(page.items) == 20
        assert all(len(n.actors) == 3 for n in page.items)

    def test_an_empty_inbox(self, django_assert_num_queries):
        user = UserFactory()
        with django_assert_num_queries(1):
            page = selectors.inbox(user=user, cursor=None)
        assert (page.items, page.next) == ([], None)


def test_unread_count():
    user = UserFactory()
    item(user)
    item(user)
    item(user, read=True)
    item(UserFactory())
    assert selectors.unread_count(user=user) == 2


class TestPreferences:
    def test_every_kind_on_every_channel(self):
        user = UserFactory()
        Preference.objects.create(user=user, kind=Kind.LIKE, channel=Channel.PUSH, enabled=False)
        rows = {(row["kind"], row["channel"]): row for row in selectors.preferences(user=user)}
        assert len(rows) == len(Kind) * len(Channel)
        assert rows[("social.like", "push")] == {
            "kind": "social.like",
            "channel": "push",
            "enabled": False,
            "mandatory": False,
        }
        assert rows[("social.like", "inbox")]["enabled"] is True
        assert rows[("likeness.render", "push")]["mandatory"] is True

    def test_a_likeness_kind_is_on_whatever_is_stored(self):
        user = UserFactory()
        Preference.objects.create(user=user, kind=Kind.LIKENESS_RENDER, channel=Channel.PUSH, enabled=False)
        assert selectors.preference_enabled(user_id=user.id, kind=Kind.LIKENESS_RENDER, channel=Channel.PUSH)
        rows = {(row["kind"], row["channel"]): row for row in selectors.preferences(user=user)}
        assert rows[("likeness.render", "push")]["enabled"] is True
