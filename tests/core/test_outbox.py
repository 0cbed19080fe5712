"""The outbox: a message written with its change reaches the broker, even when the broker was away."""

import base64
import json
import threading
import uuid

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from backend.core import outbox
from backend.core.models import OutboxMessage
from media import tasks
from media.models import RenderJob
from tests.factories import UserFactory
from tests.workers import broker_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


RENDERS_QUEUE = f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}renders"


def on_broker(command: str, *args):
    """A Redis command on the suite's broker, through kombu (which knows its socket URLs too)."""
    with current_app.connection_for_write() as connection:
        return getattr(connection.default_channel.client, command)(*args)


def renders_queue() -> list[bytes]:
    """The messages waiting on the renders queue of the suite's broker."""
    return on_broker("lrange", RENDERS_QUEUE, 0, -1)


@pytest.fixture(autouse=True)
def empty_renders_queue():
    on_broker("delete", RENDERS_QUEUE)
    outbox._broker_failed_at = 0.0
    yield
    on_broker("delete", RENDERS_QUEUE)


def sent_job_ids() -> list[str]:
    """The job ids of the messages on the renders queue, in the order they were sent."""
    ids = []
    for raw in reversed(renders_queue()):  # kombu pushes on the left, workers pop on the right
        envelope = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        ids.append(kwargs["job_id"])
    return ids


def test_a_message_of_a_rolled_back_change_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(tasks.render_job_execute, job_id="never")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert sent_job_ids() == []


def test_a_committed_message_reaches_the_broker_at_once_and_leaves_the_outbox():
    with transaction.atomic():
        outbox.enqueue(tasks.render_job_execute, job_id="job-1")
        assert sent_job_ids() == []  # nothing before the commit
    assert sent_job_ids() == ["job-1"]
    assert not OutboxMessage.objects.exists()


def test_a_render_requested_while_the_broker_is_away_is_queued_and_sent_when_it_returns(client_for):
    with broker_unreachable():
        client = client_for(UserFactory())
        response = client.post(
            "/api/v1/renders",
            {"prompt": "a lighthouse in a storm", "duration_s": 3, "resolution": "480p"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert response.status_code == 201, response.data
        assert response.data["status"] == "queued"
        job = RenderJob.objects.get(id=response.data["id"])
        renders = OutboxMessage.objects.filter(task="media.render_job_execute")
        [waiting] = renders
        assert (waiting.task, waiting.kwargs, waiting.attempts) == (
            "media.render_job_execute",
            {"job_id": str(job.id)},
            1,
        )
        assert "Connection refused" in waiting.last_error or "Error" in waiting.last_error

        call_command("outbox_relay", "--once")  # still away: it stays
        assert renders.get().attempts == 2

    # The broker is back
    call_command("outbox_relay", "--once")
    assert sent_job_ids() == [str(job.id)]
    assert not OutboxMessage.objects.exists()
    call_command("outbox_relay", "--once")  # nothing sent twice
    assert sent_job_ids() == [str(job.id)]


def test_messages_are_relayed_oldest_first_and_a_locked_one_is_left_to_its_holder():
    with transaction.atomic():
        first = OutboxMessage.objects.create(task="media.render_job_execute", kwargs={"job_id": "a"})
        held = OutboxMessage.objects.create(task="media.render_job_execute", kwargs={"job_id": "b"})
        OutboxMessage.objects.create(task="media.render_job_execute", kwargs={"job_id": "c"})
    assert first.id < held.id
    with transaction.atomic():
        OutboxMessage.objects.select_for_update().get(id=held.id)  # another relay is sending it
        # A relay on another connection skips it and sends the rest in order.
        result = {}

        def relay():
            result["sent"] = outbox.messages_relay()
            connection.close()

        thread = threading.Thread(target=relay)
        thread.start()
        thread.join(timeout=30)
    assert result["sent"] == 2
    assert sent_job_ids() == ["a", "c"]
    assert list(OutboxMessage.objects.values_list("id", flat=True)) == [held.id]
