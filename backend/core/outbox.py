"""The transactional outbox: a task written with the change that calls for it is never lost.

``enqueue(task, **kwargs)`` adds a row in the caller's transaction. Once that transaction
commits, the process tries to send it at once (the usual path: no added latency) and deletes the
row when the broker took it. A message that could not be sent (broker down, process killed right
after the commit) stays in the table: the relay (``manage.py outbox_relay``, one per deployment or
more, they skip each other's rows) sends it within ``OUTBOX_RELAY_INTERVAL_S`` of the broker coming
back, in the order written. Delivery is at least once; every consumer is idempotent.

While a send has just failed, this process skips the immediate attempt for
``OUTBOX_BROKER_BACKOFF_S`` so a broker outage does not slow every request: the relay has it.
"""

from __future__ import annotations

import logging
import time

from celery import current_app
from django.conf import settings
from django.db import transaction

from backend.core import logs
from backend.core.models import OutboxMessage

logger = logging.getLogger(__name__)

_broker_failed_at = 0.0


def enqueue(task, **kwargs) -> OutboxMessage:
    """Send ``task`` (a Celery task) with ``kwargs`` after the current transaction commits, for sure."""
    message = OutboxMessage.objects.create(task=task.name, kwargs=kwargs, request_id=logs.request_id() or "")
    transaction.on_commit(lambda: _send_now(message.id))
    return message


def _send_now(message_id: int) -> None:
    if time.monotonic() - _broker_failed_at < settings.OUTBOX_BROKER_BACKOFF_S:
        return
    try:
        messages_relay(ids=[message_id])
    except Exception:  # the commit stands: the relay sends it later
        logger.exception("outbox message %s: not sent now; the relay will", message_id)


def messages_relay(*, ids: list[int] | None = None, limit: int = 200) -> int:
    """Send waiting messages, oldest first, deleting each the broker took; returns how many were sent.

    Rows another relay holds are skipped. The first failure stops the batch (the broker is away)
    and is recorded on the row.
    """
    global _broker_failed_at
    sent = 0
    with transaction.atomic():
        waiting = OutboxMessage.objects.select_for_update(skip_locked=True).order_by("id")
        if ids is not None:
            waiting = waiting.filter(id__in=ids)
        for message in waiting[:limit]:
            try:
                with logs.request_id_bound(message.request_id or None):
                    current_app.tasks[message.task].delay(**message.kwargs)
            except Exception as error:
                _broker_failed_at = time.monotonic()
                OutboxMessage.objects.filter(id=message.id).update(
                    attempts=message.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:300]
                )
                logger.warning("outbox: %s not sent (%s); will retry", message, error)
                break
            message.delete()
            sent += 1
    return sent
