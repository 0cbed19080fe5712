"""Logs: JSON lines with the request id, one access line per request, the id carried into tasks, no secrets."""

import base64
import io
import json
import logging
import sys

import pytest
from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction

from backend.core import logs, outbox
from backend.core.models import OutboxMessage
from media import tasks
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

RENDERS_QUEUE = f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}renders"


@pytest.fixture
def log_lines():
    """What the configured console handler (JSON, with its filters) writes, as parsed lines."""
    [handler] = [handler for handler in logging.getLogger().handlers if getattr(handler, "name", "") == "console"]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def on_broker(command: str, *args):
    with current_app.connection_for_write() as connection:
        return getattr(connection.default_channel.client, command)(*args)


@pytest.fixture
def renders_queue():
    on_broker("delete", RENDERS_QUEUE)
    outbox._broker_failed_at = 0.0
    yield lambda: [json.loads(raw) for raw in reversed(on_broker("lrange", RENDERS_QUEUE, 0, -1))]
    on_broker("delete", RENDERS_QUEUE)


def test_a_request_gets_an_id_in_the_response_and_in_its_error_envelope(api_client):
    response = api_client.get("/api/v1/no-such-thing")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert response.json()["error"]["request_id"] == request_id
    assert api_client.get("/api/v1/no-such-thing")["X-Request-ID"] != request_id


def test_a_safe_client_request_id_is_kept_and_anything_else_replaced(api_client):
    kept = api_client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.9:12_x")
    assert kept["X-Request-ID"] == "lb-7f3a.9:12_x"
    for hostile in ("a" * 129, "id with spaces", "x\u00e9", "<script>", "-leading-dash"):
        replaced = api_client.get("/healthz", HTTP_X_REQUEST_ID=hostile)
        assert replaced["X-Request-ID"] != hostile and len(replaced["X-Request-ID"]) == 32


def test_one_access_line_per_request_with_route_status_latency_user_and_no_secrets(client_for, log_lines):
    user = UserFactory()
    query = "kind=following&token=cog-secret&X-Amz-Signature=s3sig&X-Amz-Credential=AKIA123&code=oauth-code"
    response = client_for(user).get(f"/api/v1/feed?{query}", HTTP_X_REQUEST_ID="req-access-1")

    [line] = [line for line in log_lines() if line["logger"] == "remix.access"]
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "api/v1/feed"
    assert line["status"] == response.status_code == 200
    assert line["user_id"] == user.id
    assert line["request_id"] == "req-access-1"
    assert line["duration_ms"] >= 0
    assert line["path"].startswith("/api/v1/feed?kind=following&token=")
    output = json.dumps(log_lines())
    for secret in ("cog-secret", "s3sig", "AKIA123", "oauth-code"):
        assert secret not in output


def test_tokens_in_the_path_are_redacted_in_the_access_line(api_client, log_lines):
    api_client.get("/media/private/signed-link-secret")
    api_client.put("/api/v1/uploads/cog/upload-token-secret/out.mp4", b"", content_type="video/mp4")

    paths = [line["path"] for line in log_lines() if line["logger"] == "remix.access"]
    assert paths == ["/media/private/[redacted]", "/api/v1/uploads/cog/[redacted]/out.mp4"]


def test_tokens_passwords_and_emails_never_reach_the_log(api_client, log_lines):
    UserFactory(email="maya@example.com")
    api_client.post(
        "/api/v1/auth/token",
        {"email": "maya@example.com", "password": "hunter2-correct-horse"},
        format="json",
        HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl",
    )
    logger = logging.getLogger("remix.test")
    # What careless code might log: a header, a body, an address, a token as an argument.
    logger.warning("upstream said Authorization: Bearer sk-live-abcdef for %s", "maya@example.com")
    logger.warning("body %s", {"email": "maya@example.com", "password": "hunter2-correct-horse", "prompt": "my draft"})
    logger.warning("refresh=%s", "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbiI6MX0.c2lnbmF0dXJl")
    # Celery's task lines carry the task's kwargs in ``data``: a mail task's recipient.
    logger.info("Task core.mail_send received", extra={"data": {"kwargs": "{'to': 'maya@example.com'}"}})
    try:
        raise ValueError("could not mail maya@example.com")
    except ValueError:
        logger.exception("mail failed")

    output = json.dumps(log_lines())
    for secret in ("maya@example.com", "hunter2-correct-horse", "sk-live-abcdef", "eyJhbGciOiJIUzI1NiJ9", "my draft"):
        assert secret not in output
    assert "[redacted]" in output and "[email]" in output


def test_a_message_keeps_its_request_id_through_the_outbox_and_the_relay(renders_queue):
    with logs.request_id_bound("req-at-once"), transaction.atomic():
        outbox.enqueue(tasks.render_job_execute, job_id="job-1")
    # Written by a request earlier; the broker was away then. The relay runs outside any request.
    OutboxMessage.objects.create(task="media.render_job_execute", kwargs={"job_id": "job-2"}, request_id="req-earlier")
    outbox.messages_relay()

    sent = renders_queue()
    ids = [json.loads(base64.b64decode(message["body"]))[1]["job_id"] for message in sent]
    assert ids == ["job-1", "job-2"]
    assert [message["headers"][logs.TASK_HEADER] for message in sent] == ["req-at-once", "req-earlier"]


@shared_task(name="tests.log_in_task")
def log_in_task() -> str | None:
    logging.getLogger("remix.test").info("in the task")
    return logs.request_id()


def test_a_task_logs_under_the_request_id_it_was_queued_with(log_lines):
    result = log_in_task.apply(headers={logs.TASK_HEADER: "req-for-task"})

    assert result.get() == "req-for-task"
    [line] = [line for line in log_lines() if line["message"] == "in the task"]
    assert line["request_id"] == "req-for-task"
    assert logs.request_id() is None  # nothing leaks to what runs next in the process
    # A task nobody's request queued still groups its records (and what it queues) under one id.
    assert log_in_task.apply(task_id="t-1").get() == "task-t-1"


def test_plain_lines_redact_a_traceback_too_and_the_record_keeps_its_exception_for_sentry():
    formatter = logs.PlainFormatter("%(levelname)s [%(request_id)s] %(message)s")
    try:
        raise ValueError("could not mail maya@example.com")
    except ValueError:
        record = logging.LogRecord("remix.test", logging.ERROR, __file__, 1, "mail failed", (), sys.exc_info())
    logs.RequestIdFilter().filter(record)
    logs.RedactingFilter().filter(record)

    line = formatter.format(record)

    assert line.startswith("ERROR [None] mail failed") and "ValueError: could not mail [email]" in line
    assert "maya@example.com" not in line
    assert record.exc_info is not None
