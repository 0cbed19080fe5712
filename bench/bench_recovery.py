"""Recovery times after faults, measured rather than guessed (issue: faults).

- broker back → queued messages sent: 500 outbox messages written while the broker refused
  connections; the time for the relay to send them all once it answers again (the relay polls
  every ``OUTBOX_RELAY_INTERVAL_S``, which adds up to that much before it starts);
- Redis back → sets repaired: 2,000 viewers' liked sets that a Redis outage left stale;
  the time for beat's repair (every 5 s) to put them right;
- worker death → render resumed: a worker SIGKILLed mid-render; the time until another worker
  runs the render again, with the reaper on its beat schedule (every 15 s) and the heartbeat
  timeout of the settings.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import transaction

from backend.core import outbox
from backend.core.models import OutboxMessage
from backend.creators.models import User
from bench.tasks import noop
from feeds import services as feed_services
from feeds import store
from feeds.models import RedisRepair
from media import services
from media.models import RenderJob
from tests.workers import WorkerProcess, broker_unreachable

MESSAGES = 500
VIEWERS = 2_000
REAPER_EVERY_S = 15.0


def _broker_back() -> dict:
    OutboxMessage.objects.all().delete()
    with broker_unreachable():
        for _ in range(MESSAGES):
            with transaction.atomic():
                outbox.enqueue(noop)
        waiting = OutboxMessage.objects.count()
    started = time.perf_counter()
    while outbox.messages_relay():
        pass
    drained = time.perf_counter() - started
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    current_app.connection_for_write().default_channel.client.delete(f"{prefix}default")
    return {
        "messages_waiting": waiting,
        "relay_seconds": round(drained, 3),
        "messages_per_second": round(waiting / drained),
        "worst_case_after_broker_back_seconds": round(drained + settings.OUTBOX_RELAY_INTERVAL_S, 2),
    }


def _redis_back() -> dict:
    RedisRepair.objects.all().delete()
    for user_id in range(1, VIEWERS + 1):
        store.viewer_set_fill(10_000_000 + user_id, "liked", [1, 2, 3])
    feed_services.redis_repairs_record(
        kind=RedisRepair.Kind.LIKED, target_ids=[10_000_000 + n for n in range(1, VIEWERS + 1)]
    )
    started = time.perf_counter()
    repaired = feed_services.redis_repairs_apply()
    seconds = time.perf_counter() - started
    stale_left = sum(store.redis().exists(store.user_key(10_000_000 + n, "liked")) for n in range(1, VIEWERS + 1))
    return {
        "viewers": repaired,
        "repair_seconds": round(seconds, 3),
        "stale_sets_left": stale_left,
        "worst_case_after_redis_back_seconds": round(seconds + 5.0, 2),  # beat runs the repair every 5 s
    }


def _worker_death(user: User) -> dict:
    log_dir = Path(tempfile.mkdtemp())
    env = {"RENDER_PROVIDER": "preview"}
    first = WorkerProcess(queues="renders,media", concurrency=1, extra_env=env, log_path=log_dir / "first.log",
                          settings_module="bench.settings")  # fmt: skip
    second = None
    try:
        settings.RENDER_PROVIDER = "preview"
        with transaction.atomic():
            job, _ = services.render_job_request(requester=user, idempotency_key=uuid.uuid4().hex,
                                                 prompt="a long shot of a harbour at dawn", duration_s=15,
                                                 resolution="1080p")  # fmt: skip
        while RenderJob.objects.get(id=job.id).status != "running":
            time.sleep(0.1)
        time.sleep(1.0)
        first.kill()
        died = time.perf_counter()
        second = WorkerProcess(queues="renders,media", concurrency=1, extra_env=env,
                               log_path=log_dir / "second.log", settings_module="bench.settings")  # fmt: skip
        next_reap = died + REAPER_EVERY_S * 0.5  # beat's reaper fires at some point in its period: mid-period
        while True:
            job.refresh_from_db(fields=["status", "attempts"])
            if job.attempts >= 2:
                break
            if time.perf_counter() >= next_reap:
                services.render_jobs_reap()
                next_reap += REAPER_EVERY_S
            time.sleep(0.1)
        resumed = time.perf_counter() - died
    finally:
        first.stop()
        if second is not None:
            second.stop()
    return {
        "worker_death_to_render_resumed_seconds": round(resumed, 1),
        "heartbeat_timeout_s": settings.RENDER_HEARTBEAT_TIMEOUT_S,
        "reaper_every_s": REAPER_EVERY_S,
        "goal_seconds": 60,
    }


def run() -> dict:
    user = User.objects.filter(handle="bench_recovery").first() or User.objects.create_user(
        "bench_recovery@example.com", "x", handle="bench_recovery"
    )
    RenderJob.objects.filter(requester=user).delete()
    return {
        "broker_back": _broker_back(),
        "redis_back": _redis_back(),
        "worker_death": _worker_death(user),
        "note": "real Redis broker and PostgreSQL; the render killed is a 15 s 1080p preview render; 2-core machine",
    }
