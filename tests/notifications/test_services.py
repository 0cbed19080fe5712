"""notifications/services: who hears of what, grouping since the last read, reading, preferences."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.errors import DomainError
from backend.core.models import OutboxMessage
from backend.videos.models import Like
from notifications import services
from notifications.models import Channel, Kind, Notification, Preference
from tests.factories import BlockFactory, FollowFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def pushes_queued(notification=None) -> int:
    messages = OutboxMessage.objects.filter(task="notifications.push_send")
    if notification is not None:
        messages = messages.filter(kwargs__notification_id=notification.id)
    return messages.count()


def grant_requested(recipient, actor, *, key="grant:1"):
    return services.notify(
        recipient_id=recipient.id,
        kind=Kind.GRANT_REQUESTED,
        key=key,
        target_type="grant",
        target_id=1,
        deep_link="/cameos/1/grants",
        actor_id=actor.id if actor else None,
    )


def like(video, user, *, at=None):
    return Like.objects.create(video=video, user=user, created_at=at or timezone.now())


def refresh_likes(video):
    return services.group_refresh(recipient_id=video.owner_id, kind=Kind.LIKE, target_type="video", target_id=video.id)


class TestNotify:
    def test_creates_the_item_with_its_actor_and_queues_a_push(self):
        recipient, actor = UserFactory(), UserFactory()
        notification = grant_requested(recipient, actor)
        assert notification.group_key == "consent.grant_requested:grant:1"
        assert (notification.actor_ids, notification.actor_count, notification.read_at) == ([actor.id], 1, None)
        assert notification.push_queued_at is not None
        assert pushes_queued(notification) == 1

    def test_without_an_actor(self):
        notification = grant_requested(UserFactory(), None)
        assert (notification.actor_ids, notification.actor_count) == ([], 0)

    def test_a_redelivered_event_returns_the_item_and_queues_nothing(self):
        recipient, actor = UserFactory(), UserFactory()
        first = grant_requested(recipient, actor)
        again = grant_requested(recipient, actor)
        assert again.id == first.id
        assert Notification.objects.count() == 1
        assert pushes_queued() == 1

    def test_another_event_of_the_same_kind_is_another_item(self):
        recipient, actor = UserFactory(), UserFactory()
        grant_requested(recipient, actor, key="grant:1")
        grant_requested(recipient, actor, key="grant:2")
        assert Notification.objects.count() == 2

    def test_nobody_is_told_of_their_own_action(self):
        user = UserFactory()
        assert grant_requested(user, user) is None

    def test_an_inactive_recipient_is_told_nothing(self):
        assert grant_requested(UserFactory(is_active=False), UserFactory()) is None
        assert not Notification.objects.exists()

    @pytest.mark.parametrize("recipient_blocked", [True, False])
    def test_blocked_either_way_nobody_is_told(self, recipient_blocked):
        recipient, actor = UserFactory(), UserFactory()
        if recipient_blocked:
            BlockFactory(blocker=recipient, blocked=actor)
        else:
            BlockFactory(blocker=actor, blocked=recipient)
        assert grant_requested(recipient, actor) is None
        assert not Notification.objects.exists()

    def test_a_kind_switched_off_for_the_inbox_is_not_written(self):
        recipient = UserFactory()
        Preference.objects.create(user=recipient, kind=Kind.GRANT_REQUESTED, channel=Channel.INBOX, enabled=False)
        assert grant_requested(recipient, UserFactory()) is None

    def test_push_switched_off_writes_the_item_and_queues_no_push(self):
        recipient = UserFactory()
        Preference.objects.create(user=recipient, kind=Kind.GRANT_REQUESTED, channel=Channel.PUSH, enabled=False)
        notification = grant_requested(recipient, UserFactory())
        assert notification is not None
        assert notification.push_queued_at is None
        assert pushes_queued() == 0

    def test_a_likeness_kind_ignores_switched_off_preferences(self):
        recipient = UserFactory()
        for channel in Channel:
            Preference.objects.create(user=recipient, kind=Kind.LIKENESS_DRAFT, channel=channel, enabled=False)
        notification = services.notify(
            recipient_id=recipient.id,
            kind=Kind.LIKENESS_DRAFT,
            key="video:9",
            target_type="video",
            target_id=9,
            deep_link="/videos/9",
            actor_id=UserFactory().id,
        )
        assert notification is not None
        assert pushes_queued(notification) == 1

    def test_a_grouped_kind_is_refused(self):
        with pytest.raises(ValueError, match="group_refresh"):
            services.notify(
                recipient_id=UserFactory().id, kind=Kind.LIKE, key="x", target_type="video", target_id=1, deep_link="/"
            )


class TestGroupRefresh:
    def test_counts_distinct_actors_and_names_the_newest_three(self):
        video = VideoFactory()
        now = timezone.now()
        fans = [UserFactory() for _ in range(5)]
        for minutes, fan in enumerate(fans):
            like(video, fan, at=now - timedelta(minutes=10 - minutes))
        notification = refresh_likes(video)
        assert notification.group_key == f"social.like:video:{video.id}"
        assert notification.deep_link == f"/videos/{video.id}"
        assert notification.actor_count == 5
        assert notification.actor_ids == [fans[4].id, fans[3].id, fans[2].id]
        assert pushes_queued(notification) == 1

    def test_nothing_to_count_makes_no_item(self):
        assert refresh_likes(VideoFactory()) is None
        assert not Notification.objects.exists()

    def test_leaves_out_the_owner_and_anyone_blocked_either_way(self):
        video = VideoFactory()
        blocked, blocker, fan = UserFactory(), UserFactory(), UserFactory()
        BlockFactory(blocker=video.owner, blocked=blocked)
        BlockFactory(blocker=blocker, blocked=video.owner)
        for user in (video.owner, blocked, blocker, fan):
            like(video, user)
        notification = refresh_likes(video)
        assert (notification.actor_count, notification.actor_ids) == (1, [fan.id])

    def test_counts_only_the_recipients_own_target(self):
        video = VideoFactory()
        like(video, UserFactory())
        stranger = UserFactory()
        assert (
            services.group_refresh(recipient_id=stranger.id, kind=Kind.LIKE, target_type="video", target_id=video.id)
            is None
        )

    def test_a_storm_is_one_row_and_one_push(self):
        video = VideoFactory()
        for _ in range(30):
            like(video, UserFactory())
            notification = refresh_likes(video)
        assert Notification.objects.count() == 1
        assert notification.actor_count == 30
        assert pushes_queued() == 1

    def test_a_grouped_item_pushes_again_after_the_interval(self, settings):
        settings.NOTIFICATIONS_GROUP_PUSH_INTERVAL_S = 600
        video = VideoFactory()
        like(video, UserFactory())
        notification = refresh_likes(video)
        Notification.objects.filter(id=notification.id).update(push_queued_at=timezone.now() - timedelta(minutes=11))
        like(video, UserFactory())
        refresh_likes(video)
        assert pushes_queued(notification) == 2

    def test_a_refresh_that_finds_nothing_new_changes_nothing(self):
        video = VideoFactory()
        like(video, UserFactory())
        first = refresh_likes(video)
        again = refresh_likes(video)
        assert (again.updated_at, again.actor_count, again.actor_ids) == (first.updated_at, 1, first.actor_ids)
        assert Notification.objects.get().updated_at == first.updated_at
        assert pushes_queued() == 1

    def test_reading_starts_a_new_group_that_counts_only_who_comes_after(self):
        video = VideoFactory()
        early = [UserFactory() for _ in range(3)]
        for fan in early:
            like(video, fan, at=timezone.now() - timedelta(minutes=5))
        notification = refresh_likes(video)
        services.notifications_mark_read(user=video.owner, ids=[notification.id])

        assert refresh_likes(video).read_at is not None  # nobody new: still read, nothing changed
        latecomer = UserFactory()
        like(video, latecomer)
        notification = refresh_likes(video)
        assert (notification.actor_count, notification.actor_ids, notification.read_at) == (1, [latecomer.id], None)

    def test_an_unlike_corrects_the_count_without_moving_the_item(self):
        video = VideoFactory()
        fans = [UserFactory(), UserFactory()]
        for fan in fans:
            like(video, fan)
        first = refresh_likes(video)
        Like.objects.filter(video=video, user=fans[0]).delete()
        notification = refresh_likes(video)
        assert (notification.actor_count, notification.updated_at) == (1, first.updated_at)

    def test_follows_group_on_the_recipient(self):
        creator = UserFactory()
        followers = [FollowFactory(followee=creator).follower for _ in range(2)]
        notification = services.group_refresh(
            recipient_id=creator.id, kind=Kind.FOLLOW, target_type="creator", target_id=creator.id
        )
        assert notification.actor_count == 2
        assert set(notification.actor_ids) == {follower.id for follower in followers}
        assert notification.deep_link == f"/creators/{creator.handle}/followers"

    def test_remixes_count_their_creators_once_and_only_those_anyone_may_see(self):
        source = VideoFactory()
        remixer, other = UserFactory(), UserFactory()
        VideoFactory(owner=remixer, parent=source, root=source, depth=1)
        VideoFactory(owner=remixer, parent=source, root=source, depth=1)
        VideoFactory(owner=other, parent=source, root=source, depth=1, visibility="private")
        notification = services.group_refresh(
            recipient_id=source.owner_id, kind=Kind.REMIX, target_type="video", target_id=source.id
        )
        assert (notification.actor_count, notification.actor_ids) == (1, [remixer.id])

    def test_challenge_entries_do_not_group_yet(self):
        assert (
            services.group_refresh(
                recipient_id=UserFactory().id, kind=Kind.CHALLENGE_ENTRY, target_type="hashtag", target_id=1
            )
            is None
        )

    def test_switched_off_for_the_inbox_makes_no_item(self):
        video = VideoFactory()
        Preference.objects.create(user=video.owner, kind=Kind.LIKE, channel=Channel.INBOX, enabled=False)
        like(video, UserFactory())
        assert refresh_likes(video) is None

    def test_a_constant_number_of_queries_whatever_the_storm(self, django_assert_num_queries):
        video = VideoFactory()
        like(video, UserFactory())
        refresh_likes(video)
        Notification.objects.update(push_queued_at=timezone.now() - timedelta(hours=1))
        for _ in range(50):
            like(video, UserFactory())
        # The transaction's savepoint and its release; recipient, inbox preference, lock, count, update,
        # push preference, push_queued_at, outbox message.
        with django_assert_num_queries(10):
            refresh_likes(video)
        for _ in range(50):
            like(video, UserFactory())
        with django_assert_num_queries(8):  # the same, without queueing the push (rate limited)
            refresh_likes(video)


class TestMarkRead:
    def test_marks_the_given_items_and_ignores_someone_elses(self):
        owner, stranger = UserFactory(), UserFactory()
        mine = grant_requested(owner, UserFactory())
        theirs = grant_requested(stranger, UserFactory())
        assert services.notifications_mark_read(user=owner, ids=[mine.id, theirs.id, 999_999]) == 1
        mine.refresh_from_db()
        theirs.refresh_from_db()
        assert mine.read_at is not None
        assert mine.group_since is None  # not grouped
        assert theirs.read_at is None

    def test_all(self):
        owner = UserFactory()
        for key in ("grant:1", "grant:2"):
            grant_requested(owner, UserFactory(), key=key)
        assert services.notifications_mark_read(user=owner, ids=None) == 2
        assert not Notification.objects.filter(read_at__isnull=True).exists()
        assert services.notifications_mark_read(user=owner, ids=None) == 0

    def test_a_grouped_item_starts_a_new_group(self):
        video = VideoFactory()
        like(video, UserFactory())
        notification = refresh_likes(video)
        services.notifications_mark_read(user=video.owner, ids=None)
        notification.refresh_from_db()
        assert notification.group_since == notification.read_at


class TestPreferencesSet:
    def test_switches_off_and_on_again(self):
        user = UserFactory()
        services.preferences_set(user=user, changes=[("social.like", "push", False), ("social.follow", "inbox", False)])
        services.preferences_set(user=user, changes=[("social.like", "push", True)])
        stored = set(Preference.objects.filter(user=user).values_list("kind", "channel", "enabled"))
        assert stored == {("social.like", "push", True), ("social.follow", "inbox", False)}

    def test_a_likeness_kind_cannot_be_switched_off_and_nothing_is_written(self):
        user = UserFactory()
        with pytest.raises(DomainError) as refused:
            services.preferences_set(
                user=user, changes=[("social.like", "push", False), ("likeness.published", "push", False)]
            )
        assert refused.value.detail.code == "notification_kind_mandatory"
        assert refused.value.status_code == 400
        assert not Preference.objects.exists()

    def test_switching_a_likeness_kind_on_is_harmless(self):
        user = UserFactory()
        services.preferences_set(user=user, changes=[("likeness.published", "inbox", True)])
        assert not Preference.objects.exists()

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            (("social.nope", "push", False), "notification_kind_unknown"),
            (("social.like", "sms", False), "notification_channel_unknown"),
        ],
    )
    def test_unknown_kind_or_channel(self, change, code):
        with pytest.raises(DomainError) as refused:
            services.preferences_set(user=UserFactory(), changes=[change])
        assert (refused.value.detail.code, refused.value.status_code) == (code, 400)

    def test_the_last_of_repeated_changes_wins(self):
        user = UserFactory()
        services.preferences_set(user=user, changes=[("social.like", "push", False), ("social.like", "push", True)])
        assert Preference.objects.get().enabled is True
