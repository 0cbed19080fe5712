"""A broker of its own (CELERY_BROKER_URL): tasks reach a real worker through that broker, a Redis apart
from the cache's or RabbitMQ, and never through the cache's Redis; the outbox relays to either.

Each test routes every task to a queue of its own (tests/core/single_queue_settings.py for the worker),
so nothing is left in a queue that other tests or workers share; RabbitMQ's is deleted after.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
from celery import current_app
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_redis import get_redis_connection
from kombu import Connection, Exchange, Queue
from prometheus_client import REGISTRY
from redis import Redis

from backend.core import metrics, outbox
from backend.core import tasks as core_tasks
from backend.core.models import OutboxMessage
from backend.settings import broker_transport_options
from backend.videos import services as video_services
from notifications.models import Kind, Notification
from tests.factories import UserFactory, VideoFactory
from tests.workers import RedisServer, WorkerProcess, wait_until

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def test_each_broker_gets_the_transport_options_it_understands():
    redis_options = broker_transport_options("redis://broker.internal:6379/0")
    rabbit_options = broker_transport_options("amqp://remix:secret@rabbit.internal:5672/remix")
    # Redis has no acks: a message a worker took comes back after the visibility timeout.
    assert redis_options["visibility_timeout"] >= 3600
    # RabbitMQ acks: a publish counts once the broker confirmed it (the outbox deletes its row then).
    assert rabbit_options["confirm_publish"] is True
    assert "visibility_timeout" not in rabbit_options
    # Both: a producer gives up on a broker that is away at once, leaving the message to the outbox.
    assert redis_options["max_retries"] == rabbit_options["max_retries"] == 1
    with pytest.raises(ImproperlyConfigured) as refused:
        broker_transport_options("sqs://key:secret-key@")
    assert "secret-key" not in str(refused.value)


def _reset_producers() -> None:
    current_app._pool = current_app.amqp._producer_pool = None
    current_app.amqp.flush_routes()
    current_app.amqp.__dict__.pop("router", None)  # built from the routes once, then cached


@contextlib.contextmanager
def tasks_through(broker_url: str, queue: str):
    """This process sends every task to ``queue`` on ``broker_url`` inside the block."""
    conf = current_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_routes, conf.task_default_queue)
    options = broker_transport_options(broker_url)
    if "visibility_timeout" in options:  # Redis: the suite's key prefix, as tests/settings.py sets it
        options["global_keyprefix"] = conf.broker_transport_options["global_keyprefix"]
    conf.broker_url, conf.broker_transport_options = broker_url, options
    conf.task_routes, conf.task_default_queue = {"*": {"queue": queue}}, queue
    _reset_producers()
    outbox._broker_failed_at = 0.0
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_routes, conf.task_default_queue = saved
        _reset_producers()
        outbox._broker_failed_at = 0.0


def worker_on(broker_url: str, queue: str, tmp_path) -> WorkerProcess:
    return WorkerProcess(
        queues=queue,
        concurrency=1,
        extra_env={"CELERY_BROKER_URL": broker_url, "TEST_CELERY_QUEUE": queue},
        log_path=tmp_path / "worker.log",
        settings_module="tests.core.single_queue_settings",
    )


def like_reaches_the_owners_inbox(worker: WorkerProcess) -> None:
    """A like, through the broker to the worker, becomes an item in the owner's inbox."""
    video, fan = VideoFactory(), UserFactory()
    video_services.like_create(video=video, user=fan)
    wait_until(
        lambda: Notification.objects.filter(recipient=video.owner, kind=Kind.LIKE, actor_ids=[fan.id]).exists(),
        worker,
        timeout=60,
    )
    # The worker's own message (the push of that item) went through the same broker and ran: nothing is
    # left in flight when the worker stops.
    wait_until(lambda: not OutboxMessage.objects.exists(), worker, timeout=10)
    wait_until(lambda: _ran(worker, "notifications.push_send"), worker, timeout=30)


def _ran(worker: WorkerProcess, task: str) -> bool:
    return any(f"Task {task}[" in line and "] succeeded" in line for line in worker.log().splitlines())


def cache_redis_keys_naming(queue: str) -> list:
    return list(get_redis_connection("default").scan_iter(match=f"*{queue}*"))


@pytest.mark.django_db(transaction=True)
def test_tasks_flow_through_a_redis_broker_of_their_own_and_not_the_cache_redis(tmp_path, settings):
    broker = RedisServer(tmp_path / "broker")
    queue = f"broker-test-{uuid.uuid4().hex[:8]}"
    try:
        assert broker.url != settings.REDIS_URL
        worker = worker_on(broker.url, queue, tmp_path)
        try:
            with tasks_through(broker.url, queue):
                like_reaches_the_owners_inbox(worker)
        finally:
            worker.stop()
        assert f"Connected to redis://:**@127.0.0.1:{broker.port}/0" in worker.log()  # (the password masked)
        # The queue lives on the broker (kombu's binding of it), and nothing of it in the cache's Redis.
        assert Redis.from_url(broker.url).keys(f"remix-test:_kombu.binding.{queue}")
        assert cache_redis_keys_naming(queue) == []
    finally:
        broker.stop()


@pytest.fixture
def rabbitmq():
    """RabbitMQ's URL, or a skip when none answers there (TEST_RABBITMQ_URL, the local guest account)."""
    where = urlsplit(RABBITMQ_URL)
    try:
        socket.create_connection((where.hostname, where.port or 5672), timeout=1).close()
    except OSError:
        pytest.skip(f"no RabbitMQ at {where.hostname}:{where.port or 5672}")
    return RABBITMQ_URL


@pytest.fixture
def rabbitmq_queue(rabbitmq):
    """A queue of the test's own on RabbitMQ, measured by /metrics' gauge, deleted after the test."""
    queue = f"broker-test-{uuid.uuid4().hex[:8]}"
    saved_queues = current_app.conf.task_queues
    current_app.conf.task_queues = [Queue(queue), Queue(f"{queue}-never-declared")]
    yield queue
    current_app.conf.task_queues = saved_queues
    with Connection(rabbitmq) as connection:
        Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel).delete()
        Exchange(queue)(connection.default_channel).delete()


def depth(queue: str) -> float | None:
    metrics.queue_depths_record()
    return REGISTRY.get_sample_value("remix_celery_queue_depth", {"queue": queue})


@pytest.mark.django_db(transaction=True)
def test_tasks_flow_through_rabbitmq_and_its_queues_are_measured(rabbitmq, rabbitmq_queue, tmp_path):
    queue = rabbitmq_queue
    worker = worker_on(rabbitmq, queue, tmp_path)
    try:
        with tasks_through(rabbitmq, queue):
            like_reaches_the_owners_inbox(worker)
    finally:
        worker.stop()
    assert "Connected to amqp://" in worker.log()
    assert cache_redis_keys_naming(queue) == []

    # With no worker, messages wait in the durable queue, and /metrics' gauge counts them.
    with tasks_through(rabbitmq, queue):
        with transaction.atomic():
            for _ in range(3):
                outbox.enqueue(core_tasks.queue_depths_record)
        assert not OutboxMessage.objects.exists()  # confirmed by RabbitMQ, so deleted
        assert depth(queue) == 3
        assert depth(f"{queue}-never-declared") == 0


@pytest.mark.django_db(transaction=True)
def test_messages_written_while_rabbitmq_is_away_are_relayed_once_it_answers(rabbitmq, rabbitmq_queue):
    queue = rabbitmq_queue
    with tasks_through("amqp://guest:guest@127.0.0.1:1//", queue), transaction.atomic():  # nobody listens there
        for _ in range(2):
            outbox.enqueue(core_tasks.queue_depths_record)
    errors = list(OutboxMessage.objects.order_by("id").values_list("last_error", flat=True))
    # The first send failed and was recorded; the second was not even tried (the process backs off).
    assert len(errors) == 2 and "refused" in errors[0].lower()

    with tasks_through(rabbitmq, queue):
        assert outbox.messages_relay() == 2
        assert not OutboxMessage.objects.exists()
        assert depth(queue) == 2
