"""notifications/delivery.py: what a push says, to which phones, once; dead tokens, transient errors, quiet hours."""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from notifications import delivery, services, tasks
from notifications.models import Channel, Device, Kind, Notification, PushFailure
from tests.factories import BlockFactory, UserFactory, VideoFactory
from tests.fake_fcm import fcm_token

pytestmark = pytest.mark.django_db


def device(user, *, time_zone="", locale="en"):
    return Device.objects.create(user=user, token=fcm_token(), platform="android", locale=locale, time_zone=time_zone)


def liked(recipient, *actors, count=None, video_id=3):
    now = timezone.now()
    return Notification.objects.create(
        recipient=recipient, kind=Kind.LIKE, group_key=f"social.like:video:{video_id}",
        actor_ids=[actor.id for actor in actors], actor_count=count or len(actors),
        target_type="video", target_id=str(video_id), deep_link=f"/videos/{video_id}", created_at=now, updated_at=now,
    )  # fmt: skip


def grant_requested(recipient, actor):
    return services.notify(recipient_id=recipient.id, kind=Kind.GRANT_REQUESTED, key="grant:1", target_type="grant",
                           target_id=1, deep_link="/cameos/1/grants", actor_id=actor.id)  # fmt: skip


def zone_at(hours: range) -> str:
    """A fixed-offset IANA zone whose local hour now is in ``hours``."""
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"  # POSIX signs: Etc/GMT-3 is UTC+3
        if datetime.now(ZoneInfo(name)).hour in hours:
            return name
    raise AssertionError(f"no zone at {hours}")


NIGHT = range(0, 5)  # well inside 22:00-07:00, whatever the minute
DAY = range(10, 19)


class TestWhatAPushSays:
    def test_grouped_names_the_newest_actor_and_counts_the_others(self, fcm):
        owner, maya, leo = UserFactory(), UserFactory(handle="maya"), UserFactory()
        phone = device(owner)
        item = liked(owner, maya, leo, count=42)

        assert delivery.push_send(notification_id=item.id) == 1

        [message] = fcm.delivered_to(phone.token)
        assert message["notification"]["title"] == "Likes on your video"
        assert message["notification"]["body"] == "maya and 41 others liked your video."
        assert message["data"] == {"notification_id": str(item.id), "kind": "social.like", "deep_link": "/videos/3"}

    def test_one_actor_is_said_plainly_and_a_hidden_one_is_someone(self, fcm):
        owner, maya = UserFactory(), UserFactory(handle="maya")
        phone = device(owner)
        delivery.push_send(notification_id=liked(owner, maya).id)
        BlockFactory(blocker=owner, blocked=maya)
        delivery.push_send(notification_id=liked(owner, maya, video_id=4).id)

        assert [m["notification"]["body"] for m in fcm.delivered_to(phone.token)] == [
            "maya liked your video.",
            "Someone liked your video.",
        ]

    def test_no_private_text_reaches_the_lock_screen(self, fcm):
        owner, maker = UserFactory(), UserFactory()
        draft = VideoFactory(owner=maker, caption="my secret caption", prompt="a secret prompt")
        phone = device(owner)
        item = services.notify(recipient_id=owner.id, kind=Kind.LIKENESS_DRAFT, key=f"video:{draft.id}",
                               target_type="video", target_id=draft.id, deep_link=f"/videos/{draft.id}",
                               actor_id=maker.id)  # fmt: skip

        delivery.push_send(notification_id=item.id)

        [message] = fcm.delivered_to(phone.token)
        assert message["notification"]["body"] == f"{maker.handle} made a draft with your cameo."
        assert "secret" not in str(message)

    def test_every_kind_has_its_words(self):
        item = Notification(id=1, kind=Kind.LIKE, actor_count=1, deep_link="/")
        for kind in Kind:
            item.kind = kind
            message = delivery.push_message(item, actor="maya")
            assert message.title and message.body and "%(" not in message.body


class TestOnce:
    def test_a_redelivered_task_sends_nothing(self, fcm):
        owner = UserFactory()
        phone = device(owner)
        item = grant_requested(owner, UserFactory())

        tasks.push_send.apply(kwargs={"notification_id": item.id})
        tasks.push_send.apply(kwargs={"notification_id": item.id})

        assert len(fcm.delivered_to(phone.token)) == 1
        item.refresh_from_db()
        assert item.pushed_at is not None and item.pushed_count == 1

    def test_a_group_that_grew_since_its_push_sends_the_new_count(self, fcm):
        owner, maya, leo = UserFactory(), UserFactory(handle="maya"), UserFactory(handle="leo")
        phone = device(owner)
        item = liked(owner, maya)
        delivery.push_send(notification_id=item.id)
        Notification.objects.filter(id=item.id).update(actor_ids=[leo.id, maya.id], actor_count=2,
                                                       updated_at=timezone.now())  # fmt: skip

        delivery.push_send(notification_id=item.id)
        delivery.push_send(notification_id=item.id)

        bodies = [m["notification"]["body"] for m in fcm.delivered_to(phone.token)]
        assert bodies == ["maya liked your video.", "leo and 1 other liked your video."]

    def test_an_item_read_before_its_push_or_switched_off_is_not_pushed(self, fcm):
        owner, other = UserFactory(), UserFactory()
        phone = device(owner)
        item = grant_requested(owner, other)
        services.notifications_mark_read(user=owner, ids=[item.id])
        delivery.push_send(notification_id=item.id)
        services.preferences_set(user=owner, changes=[(Kind.LIKE, Channel.PUSH, False)])
        delivery.push_send(notification_id=liked(owner, other).id)

        assert fcm.delivered_to(phone.token) == []

    def test_every_device_of_the_recipient_and_no_one_else_s(self, fcm):
        owner, stranger = UserFactory(), UserFactory()
        phones = [device(owner), device(owner)]
        elsewhere = device(stranger)
        delivery.push_send(notification_id=grant_requested(owner, UserFactory()).id)
        assert [len(fcm.delivered_to(phone.token)) for phone in phones] == [1, 1]
        assert fcm.delivered_to(elsewhere.token) == []


class TestTeenQuietHours:
    def test_a_teen_s_phone_at_night_gets_nothing_and_the_inbox_keeps_the_item(self, fcm):
        teen = UserFactory(birth_date=date.today() - timedelta(days=15 * 366))
        night, day = device(teen, time_zone=zone_at(NIGHT)), device(teen, time_zone=zone_at(DAY))
        item = grant_requested(teen, UserFactory())

        delivery.push_send(notification_id=item.id)
        delivery.push_send(notification_id=item.id)

        assert fcm.delivered_to(night.token) == [] and len(fcm.delivered_to(day.token)) == 1
        assert Notification.objects.filter(id=item.id, read_at__isnull=True).exists()

    def test_an_adult_s_phone_at_night_gets_it(self, fcm):
        adult = UserFactory(birth_date=date.today() - timedelta(days=30 * 366))
        night = device(adult, time_zone=zone_at(NIGHT))
        delivery.push_send(notification_id=grant_requested(adult, UserFactory()).id)
        assert len(fcm.delivered_to(night.token)) == 1


class TestFailures:
    def test_a_dead_token_is_pruned_and_recorded_by_its_tail(self, fcm):
        owner = UserFactory()
        dead, alive = device(owner), device(owner)
        fcm.outcomes[dead.token] = ["unregistered"]

        assert delivery.push_send(notification_id=grant_requested(owner, UserFactory()).id) == 1

        assert list(Device.objects.filter(user=owner)) == [alive]
        [failure] = PushFailure.objects.all()
        assert (failure.code, failure.permanent, failure.provider) == ("UNREGISTERED", True, "fcm")
        assert failure.device_token_tail == dead.token[-8:] and dead.token not in failure.message

    def test_a_transient_error_retries_only_the_devices_that_failed(self, fcm):
        owner = UserFactory()
        busy, fine = device(owner), device(owner)
        fcm.outcomes[busy.token] = ["quota"]
        item = grant_requested(owner, UserFactory())

        with pytest.raises(delivery.PushRetry) as retry:
            delivery.push_send(notification_id=item.id)
        assert retry.value.device_ids == [busy.id] and retry.value.retry_after == 1.0
        delivery.push_send(notification_id=item.id, device_ids=retry.value.device_ids, pushed_at=retry.value.pushed_at)
        delivery.push_send(notification_id=item.id)  # redelivered first message

        assert len(fcm.delivered_to(busy.token)) == len(fcm.delivered_to(fine.token)) == 1
        assert Device.objects.filter(id=busy.id).exists()  # kept: a transient error is no dead token

    def test_every_device_s_outcome_is_counted_for_metrics(self, fcm):
        def deliveries(outcome: str) -> float:
            labels = {"provider": "fcm", "outcome": outcome}
            return REGISTRY.get_sample_value("remix_notification_deliveries_total", labels) or 0.0

        before = {outcome: deliveries(outcome) for outcome in ("delivered", "retry", "token_dead")}
        owner = UserFactory()
        dead, busy, _fine = device(owner), device(owner), device(owner)
        fcm.outcomes[dead.token], fcm.outcomes[busy.token] = ["unregistered"], ["quota"]

        with pytest.raises(delivery.PushRetry):
            delivery.push_send(notification_id=grant_requested(owner, UserFactory()).id)

        assert {outcome: deliveries(outcome) - count for outcome, count in before.items()} == {
            "delivered": 1,
            "retry": 1,
            "token_dead": 1,
        }

    def test_a_retry_after_a_newer_push_sends_nothing(self, fcm):
        owner, maya = UserFactory(), UserFactory()
        busy = device(owner)
        fcm.outcomes[busy.token] = ["unavailable"]
        item = liked(owner, maya)
        with pytest.raises(delivery.PushRetry) as retry:
            delivery.push_send(notification_id=item.id)
        Notification.objects.filter(id=item.id).update(actor_count=2, updated_at=timezone.now())
        delivery.push_send(notification_id=item.id)  # the newer push reaches the phone

        delivery.push_send(notification_id=item.id, device_ids=retry.value.device_ids, pushed_at=retry.value.pushed_at)

        assert len(fcm.delivered_to(busy.token)) == 1

    def test_the_task_retries_with_backoff_and_records_when_it_gives_up(self, fcm, monkeypatch):
        monkeypatch.setattr(tasks.push_send, "max_retries", 2)
        owner = UserFactory()
        busy = device(owner)
        fcm.outcomes[busy.token] = ["unavailable"] * 3
        item = grant_requested(owner, UserFactory())

        tasks.push_send.apply(kwargs={"notification_id": item.id})  # eager: the retries run at once

        assert fcm.delivered_to(busy.token) == []
        [failure] = PushFailure.objects.all()
        assert (failure.code, failure.permanent) == ("UNAVAILABLE", False)
        assert Device.objects.filter(id=busy.id).exists()

    def test_the_log_provider_logs_the_push_without_the_token(self, caplog):
        owner = UserFactory()
        phone = device(owner)
        with caplog.at_level(logging.INFO, logger="notifications.providers.log"):
            assert delivery.push_send(notification_id=grant_requested(owner, UserFactory()).id) == 1
        assert "asks to use your cameo" in caplog.text
        assert phone.token not in caplog.text and phone.token[-6:] in caplog.text

    def test_fcm_without_its_settings_records_every_device_and_keeps_them(self, settings):
        settings.PUSH_PROVIDER = "fcm"
        settings.PUSH_PROVIDER_OPTIONS = {"fcm": {"project_id": "", "credentials_file": ""}}
        owner = UserFactory()
        phone = device(owner)

        assert delivery.push_send(notification_id=grant_requested(owner, UserFactory()).id) == 0

        [failure] = PushFailure.objects.all()
        assert (failure.code, failure.permanent) == ("fcm_not_configured", True)
        assert failure.device_token_tail == phone.token[-8:]
        assert Device.objects.filter(id=phone.id).exists()
