"""Logs: one JSON object a line (``LOG_FORMAT=json``) from web, workers and beat, each record with the id
of the request it serves, and nothing secret in it.

The request id is the client's ``X-Request-ID`` when it is a short safe token, else a new one
(``backend.core.middleware``). It travels with every Celery task queued while it is current: a
message header set at publish (``before_task_publish``), and the outbox row for messages the relay
sends later (``backend.core.outbox``). A worker makes it current again for the task's run
(``task_prerun``), so the task's records and the tasks it queues carry it too.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pythonjsonlogger.json
from celery import signals
from django.conf import settings

from backend.core.redaction import redact_text, scrub

REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header that carries it.
TASK_HEADER = "x_request_id"

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id() -> str | None:
    """The id of the request (or the task it queued) this code runs for; None outside both."""
    return _request_id.get()


def request_id_accept(presented: str | None) -> str:
    """A client's id when it is a bounded safe token (it ends up in logs and headers), else a new one."""
    if presented and _SAFE_REQUEST_ID.fullmatch(presented):
        return presented
    return uuid.uuid4().hex


@contextmanager
def request_id_bound(value: str | None) -> Iterator[None]:
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class RedactingFilter(logging.Filter):
    """The safety net: a record's message and fields lose tokens, passwords and emails.

    The message is formatted here (``record.args`` emptied), so a secret passed as an argument is
    caught as well as one written into the format string. The traceback is redacted by the formatters
    below as they write it: the record keeps its exception for Sentry, which scrubs its own copy.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = ()
        for name, value in vars(record).items():
            # Strings, and the dicts records carry (Celery's task lines put a task's kwargs in ``data``).
            if isinstance(value, (str, dict)) and name not in _RECORD_FIELDS_KEPT:
                setattr(record, name, scrub(value))
        return True


# Standard fields that never hold user data (and the message, redacted above).
_RECORD_FIELDS_KEPT = frozenset(
    {"name", "msg", "levelname", "pathname", "filename", "module", "funcName", "threadName", "processName",
     "taskName", "request_id"}
)  # fmt: skip


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    def formatException(self, ei) -> str:
        return redact_text(super().formatException(ei))


class PlainFormatter(logging.Formatter):
    def formatException(self, ei) -> str:
        return redact_text(super().formatException(ei))


def logging_config(*, log_format: str, level: str) -> dict:
    """Settings' ``LOGGING``: one console handler, JSON lines or plain text, both filters on it."""
    formatters = {
        "json": {
            "()": "backend.core.logs.JsonFormatter",
            "fmt": "{levelname}{name}{message}",
            "style": "{",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
        "plain": {
            "()": "backend.core.logs.PlainFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "backend.core.logs.RequestIdFilter"},
            "redact": {"()": "backend.core.logs.RedactingFilter"},
        },
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "pgserver": {"level": "WARNING"},
            # One access line per request comes from backend.core.middleware; Django's own would repeat
            # 4xx and 5xx with the raw path.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            # gunicorn's own lines (gunicorn.conf.py), through the same handler instead of its plain one.
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


def celery_install() -> None:
    """Workers and beat log through settings' LOGGING (not Celery's own setup), with request ids."""
    signals.setup_logging.connect(_celery_setup_logging, weak=False, dispatch_uid="remix.logs.setup")
    signals.before_task_publish.connect(_task_publish, weak=False, dispatch_uid="remix.logs.publish")
    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="remix.logs.prerun")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="remix.logs.postrun")


def _celery_setup_logging(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)


def _task_publish(sender=None, headers: dict | None = None, **kwargs) -> None:
    current = _request_id.get()
    if headers is not None and current and not headers.get(TASK_HEADER):
        headers[TASK_HEADER] = current


_task_tokens: dict[str, contextvars.Token] = {}


def _task_prerun(sender=None, task_id: str | None = None, task=None, **kwargs) -> None:
    # A worker's request has message headers as attributes; an eager ``apply()`` nests them in ``headers``.
    presented = getattr(task.request, TASK_HEADER, None) or (task.request.headers or {}).get(TASK_HEADER)
    # A task queued outside any request gets its own id: its records and the tasks it queues still group.
    _task_tokens[task_id] = _request_id.set(presented or f"task-{task_id}")


def _task_postrun(sender=None, task_id: str | None = None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _request_id.reset(token)
