"""Push on a real Celery worker, to the local FCM (tests/fake_fcm.py): an item made reaches the phone once,
whatever the broker redelivers; a dead token is pruned; QUOTA_EXCEEDED is retried, then delivered once."""

import pytest

from notifications import services, tasks
from notifications.models import Device, Kind, PushFailure
from tests.factories import UserFactory
from tests.fake_fcm import fake_fcm_as_provider, fcm_token
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def fcm(settings, tmp_path):
    fake, env = fake_fcm_as_provider(settings, tmp_path)
    yield fake, env
    fake.stop()


def phone_of(user) -> Device:
    return Device.objects.create(user=user, token=fcm_token(), platform="android", time_zone="Europe/Paris")


def grant_requested(recipient):
    """What the receivers do when someone asks for a cameo: the item, and its push queued through the outbox."""
    return services.notify(recipient_id=recipient.id, kind=Kind.GRANT_REQUESTED, key="grant:1", target_type="grant",
                           target_id=1, deep_link="/cameos/1/grants", actor_id=UserFactory().id)  # fmt: skip


def test_an_item_reaches_the_phone_exactly_once_though_its_task_comes_twice(start_worker, fcm):
    fake, env = fcm
    worker = start_worker(env=env, queues="notifications")
    owner = UserFactory()
    phone = phone_of(owner)

    item = grant_requested(owner)
    wait_until(lambda: len(fake.delivered_to(phone.token)) == 1, worker)
    tasks.push_send.delay(notification_id=item.id)  # the broker delivers it again
    wait_until(lambda: worker.log().count("succeeded in") >= 2, worker)

    [message] = fake.delivered_to(phone.token)
    assert message["data"]["notification_id"] == str(item.id)
    assert message["notification"]["title"] == "Cameo request"
    assert fake.attempts.count(phone.token) == 1


def test_a_dead_token_is_pruned(start_worker, fcm):
    fake, env = fcm
    worker = start_worker(env=env, queues="notifications")
    owner = UserFactory()
    dead, alive = phone_of(owner), phone_of(owner)
    fake.outcomes[dead.token] = ["unregistered"]

    grant_requested(owner)
    wait_until(lambda: not Device.objects.filter(id=dead.id).exists(), worker)

    wait_until(lambda: len(fake.delivered_to(alive.token)) == 1, worker)
    assert PushFailure.objects.filter(code="UNREGISTERED", permanent=True, device_token_tail=dead.token[-8:]).exists()


def test_quota_exceeded_is_retried_after_retry_after_then_delivered_once(start_worker, fcm):
    fake, env = fcm
    worker = start_worker(env=env, queues="notifications")
    owner = UserFactory()
    phone = phone_of(owner)
    fake.outcomes[phone.token] = ["quota"]  # 429 QUOTA_EXCEEDED, Retry-After: 1

    grant_requested(owner)
    wait_until(lambda: len(fake.delivered_to(phone.token)) == 1, worker)

    assert fake.attempts.count(phone.token) == 2
    assert not PushFailure.objects.exists()
    assert Device.objects.filter(id=phone.id).exists()
