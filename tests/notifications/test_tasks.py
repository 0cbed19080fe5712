"""notifications/tasks: what each event task does when the world moved on, and the pieces they share."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_redis import get_redis_connection

from backend.rights import services as rights_services
from backend.videos.models import Like
from media.models import RenderJob
from notifications import services, tasks
from notifications.models import Kind, Notification
from tests.factories import (
    CameoGrantFactory,
    CharacterFactory,
    RenderJobFactory,
    RightsHolderFactory,
    UserFactory,
    VideoCharacterFactory,
    VideoFactory,
)

pytestmark = pytest.mark.django_db


class TestMentionedHandles:
    def test_distinct_casefolded_in_order_without_emails_or_trailing_dots(self):
        text = "hi @Maya and @leo. mail a@b.com, @maya again, @x is too short, (@ann_1)"
        assert services.mentioned_handles(text) == ["maya", "leo", "ann_1"]

    def test_at_most_ten(self):
        text = " ".join(f"@user{n}" for n in range(15))
        assert services.mentioned_handles(text) == [f"user{n}" for n in range(10)]


def test_a_caption_mentioning_many_tells_at_most_ten():
    owner = UserFactory()
    people = [UserFactory(handle=f"fan{n:02d}") for n in range(12)]
    video = VideoFactory(owner=owner, caption=" ".join(f"@{person.handle}" for person in people))
    tasks.video_published_notify(video_id=video.id)
    assert Notification.objects.filter(kind=Kind.MENTION).count() == 10


def test_a_grant_decision_superseded_before_its_task_ran_tells_nothing_and_the_later_one_tells():
    grant = CameoGrantFactory(status="revoked", decided_at=timezone.now(), revoked_at=timezone.now())
    tasks.grant_decided_notify(grant_id=grant.id, status="approved")
    assert not Notification.objects.exists()
    tasks.grant_decided_notify(grant_id=grant.id, status="revoked")
    assert Notification.objects.get().kind == Kind.GRANT_REVOKED


@pytest.mark.parametrize("status", ["cancelled", "queued"])
def test_a_cancelled_render_or_one_not_finished_as_the_event_says_tells_nobody(status):
    job = RenderJobFactory(status=status)
    tasks.render_finished_notify(job_id=str(job.id), status="cancelled")
    tasks.render_finished_notify(job_id=str(job.id), status="succeeded")
    assert not Notification.objects.exists()


def test_tasks_of_rows_that_are_gone_do_nothing():
    tasks.render_requested_notify(job_id="00000000-0000-0000-0000-000000000000")
    tasks.comment_created_notify(comment_id=999999)
    tasks.video_removed_notify(video_id=999999, by_id=None)
    assert not RenderJob.objects.exists() and not Notification.objects.exists()


def test_a_removal_told_after_the_video_came_back_tells_nothing():
    video = VideoFactory()  # published: restored meanwhile, or never removed
    tasks.video_removed_notify(video_id=video.id, by_id=None)
    assert not Notification.objects.exists()


def test_group_refresh_clears_the_pending_mark_before_it_counts():
    video = VideoFactory()
    Like.objects.create(video=video, user=UserFactory())
    args = {"recipient_id": video.owner_id, "kind": Kind.LIKE.value, "target_type": "video", "target_id": str(video.id)}
    redis = get_redis_connection("default")
    redis.set(services.pending_refresh_key(**args), 1, ex=services.GROUP_REFRESH_PENDING_S)
    tasks.group_refresh(**args)
    tasks.group_refresh(**args)
    assert not redis.exists(services.pending_refresh_key(**args))
    assert Notification.objects.get(recipient=video.owner).actor_count == 1


def test_the_pending_mark_is_one_per_recipient_and_target_on_the_recipients_cluster_slot():
    key = services.pending_refresh_key(recipient_id=7, kind="social.like", target_type="video", target_id=42)
    assert "{u7}" in key and key.endswith("social.like:video:42")
    assert key != services.pending_refresh_key(recipient_id=7, kind="social.like", target_type="video", target_id=43)


class TestMomentsBeatAsksAbout:
    """Run twice each, as beat may: each person is told once."""

    def test_a_suspension_that_ran_out_tells_its_account_once(self):
        now = timezone.now()
        ended = UserFactory(suspended_until=now - timedelta(minutes=3))
        UserFactory(suspended_until=now + timedelta(days=2))  # still suspended
        UserFactory(suspended_until=now - timedelta(days=3))  # told long ago

        tasks.suspensions_ended_notify()
        tasks.suspensions_ended_notify()

        [told] = Notification.objects.all()
        assert (told.recipient_id, told.kind, told.deep_link) == (ended.id, Kind.SUSPENSION_ENDED, "/me")

    def test_a_closed_month_tells_everyone_the_ledger_owes_once(self):
        creator, holder_member, bystander = UserFactory(), UserFactory(), UserFactory()
        holder = RightsHolderFactory()
        holder.members.add(holder_member)
        character = CharacterFactory(holder=holder, revenue_share_bps=1000)
        video = VideoFactory(owner=creator)
        VideoCharacterFactory(video=video, character=character)
        rights_services.revenue_event_record(video=video, kind="ads", amount_minor=1000, currency="EUR",
                                             external_id="ads-1")  # fmt: skip
        today = timezone.now()

        services.statements_ready_notify(year=today.year, month=today.month)
        services.statements_ready_notify(year=today.year, month=today.month)

        period = f"{today.year:04d}-{today.month:02d}"
        told = Notification.objects.filter(kind=Kind.STATEMENT_READY)
        assert sorted(told.values_list("recipient_id", flat=True)) == sorted([creator.id, holder_member.id])
        assert {(item.deep_link, item.data["period"]) for item in told} == {
            (f"/rights/statements?period={period}", period)
        }
        assert not Notification.objects.filter(recipient=bystander).exists()
