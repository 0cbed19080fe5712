"""A like storm: 20,000 people like one video within one minute, and its owner's inbox and phone keep up.

Data: 20,000 likers and one published video whose owner has one phone (the ``log`` push provider, which
logs each push instead of sending it). Load: four processes call the like service (``like_create``, the
same function the API calls, with its receivers) on a uniform schedule over 60 s. Worker: a real Celery
worker (bench settings, ``notifications`` queue, concurrency 2) runs what the likes queue: the grouped
item's refreshes (one pending at a time per recipient and target) and the pushes they queue.

Measured: the notification rows written (inserts and updates of the table, from PostgreSQL's statistics
once the worker has stopped); the refreshes and pushes the worker ran, and the pushes the log provider
logged; the delay from each like's commit to the inbox item counting it (the item's ``updated_at`` when its
``actor_count`` first reached that like's rank, sampled every 10 ms: the k-th committed like is counted
once the count reaches k); and the queries of an inbox page (``GET /api/v1/notifications``) for a reader
with 10 items and one with 100, and of the inbox selector showing all 10 or all 100 on one page. The likes
run in-process (forked likers), the notification work on the real worker; on a shared 2-core machine the
likers may not keep the schedule: the rate reached and the load average are recorded with the figures.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.creators.models import User
from backend.videos.models import Video
from backend.videos.services import like_create
from notifications import selectors
from notifications.models import Device, Kind, Notification
from tests.factories import VideoFactory
from tests.workers import WorkerProcess

LIKERS = 20_000
STORM_S = 60.0
PROCESSES = 4
SAMPLE_S = 0.01
PREFIX = "notifbench_"


def _likers() -> list[int]:
    # Through the model (not SQL) so every column gets its default, whatever the user table holds by now.
    User.objects.bulk_create(
        [User(email=f"{PREFIX}{n}@example.com", handle=f"{PREFIX}{n}", password="!") for n in range(1, LIKERS + 1)],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return list(User.objects.filter(handle__regex=rf"^{PREFIX}\d+$").order_by("id").values_list("id", flat=True))


def _user(handle: str) -> User:
    return User.objects.filter(handle=handle).first() or User.objects.create_user(f"{handle}@example.com", "x",
                                                                                  handle=handle)  # fmt: skip


def _like_chunk(video_id: int, schedule: list[tuple[int, float]]) -> list[float]:
    """In a forked process: like at each scheduled moment (or as soon as possible after it); commit times."""
    video = Video.objects.get(id=video_id)
    committed = []
    for user_id, at in schedule:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        like_create(video=video, user=User(id=user_id))
        committed.append(time.time())
    connections.close_all()
    return committed


def _sample(owner_id: int, total: int, samples: list, stop: threading.Event) -> None:
    while not stop.is_set():
        row = (Notification.objects.filter(recipient_id=owner_id, kind=Kind.LIKE)
               .values_list("updated_at", "actor_count").first())  # fmt: skip
        if row and (not samples or samples[-1] != row):
            samples.append(row)
            if row[1] >= total:
                break
        time.sleep(SAMPLE_S)
    connection.close()


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


def _succeeded(worker_log: str, task: str) -> int:
    return sum(1 for line in worker_log.splitlines() if f"{task}[" in line and "succeeded" in line)


def _table_writes() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = %s", ["notifications_notification"]
        )
        return cursor.fetchone()


def _storm() -> dict:
    owner = _user(f"{PREFIX}owner")
    Notification.objects.filter(recipient=owner).delete()
    Video.objects.filter(owner=owner).delete()
    Device.objects.filter(user=owner).delete()
    Device.objects.create(user=owner, token=f"bench-{'x' * 40}", platform="android", time_zone="UTC")
    video = VideoFactory(owner=owner)
    likers = _likers()[:LIKERS]
    log = Path(tempfile.mkdtemp()) / "worker.log"
    worker = WorkerProcess(queues="notifications", concurrency=2, extra_env={"PUSH_PROVIDER": "log"}, log_path=log,
                           settings_module="bench.settings")  # fmt: skip
    inserts_before, updates_before = _table_writes()
    load_before = os.getloadavg()[0]
    try:
        start = time.time() + 2
        schedule = [(user_id, start + i * STORM_S / len(likers)) for i, user_id in enumerate(likers)]
        chunks = [schedule[p::PROCESSES] for p in range(PROCESSES)]
        samples: list = []
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(owner.id, len(likers), samples, stop))
        connections.close_all()  # the forked likers open their own
        sampler.start()
        with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
            committed = sorted(t for chunk in pool.starmap(_like_chunk, [(video.id, c) for c in chunks]) for t in chunk)
        storm_s = committed[-1] - start
        load_after = os.getloadavg()[0]
        sampler.join(timeout=180)
        stop.set()
        drained_s = samples[-1][0].timestamp() - committed[-1] if samples else None
    finally:
        worker.stop()
    time.sleep(1)
    inserts_after, updates_after = _table_writes()
    delays, reached = [], 0
    for rank, at in enumerate(committed, start=1):
        while reached < len(samples) and samples[reached][1] < rank:
            reached += 1
        if reached == len(samples):
            break
        delays.append(max(0.0, samples[reached][0].timestamp() - at))
    text = worker.log()
    item = Notification.objects.get(recipient=owner, kind=Kind.LIKE)
    return {
        "likes": len(committed),
        "storm_seconds": round(storm_s, 1),
        "likes_per_second_offered": round(len(likers) / STORM_S, 1),
        "likes_per_second": round(len(committed) / storm_s, 1),
        # The likers fall behind the schedule when the machine's CPUs are taken (by other work too).
        "load_average_1m": {"before": round(load_before, 1), "after": round(load_after, 1), "cpus": os.cpu_count()},
        "notification_rows": Notification.objects.filter(recipient=owner).count(),
        "notification_row_inserts": inserts_after - inserts_before,
        "notification_row_updates": updates_after - updates_before,
        "item_actor_count": item.actor_count,
        "group_refreshes_run": _succeeded(text, "notifications.group_refresh"),
        "push_tasks_run": _succeeded(text, "notifications.push_send"),
        "pushes_sent_log_provider": text.count("notifications.providers.log"),
        "like_to_inbox_delay": {**_percentiles(delays), "likes_measured": len(delays)},
        "last_like_to_final_count_seconds": round(drained_s, 2) if drained_s is not None else None,
        "inbox_samples": len(samples),
    }


def _reader(handle: str, items: int, actors: list[int]) -> User:
    reader = _user(handle)
    Notification.objects.filter(recipient=reader).delete()
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(recipient=reader, kind=Kind.LIKE if n % 2 else Kind.COMMENT, group_key=f"bench:{n}",
                     actor_ids=actors[n % 50:n % 50 + 3] if n % 2 else actors[n % 50:n % 50 + 1],
                     actor_count=40 if n % 2 else 1, target_type="video", target_id=str(n), deep_link=f"/videos/{n}",
                     created_at=now - timedelta(minutes=n), updated_at=now - timedelta(minutes=n))
        for n in range(items)
    )  # fmt: skip
    return reader


def _inbox_queries() -> dict:
    actors = _likers()[:60]
    result = {}
    for items in (10, 100):
        reader = _reader(f"{PREFIX}reader{items}", items, actors)
        client = Client()
        token = AccessToken.for_user(reader)
        client.get("/api/v1/notifications", HTTP_AUTHORIZATION=f"Bearer {token}")  # warm
        with CaptureQueriesContext(connection) as api:
            response = client.get("/api/v1/notifications", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
        with CaptureQueriesContext(connection) as selector:
            page = selectors.inbox(user=reader, cursor=None, limit=items)
        result[f"{items}_items"] = {
            "api_page_items": len(response.json()["results"]),
            "api_page_queries": len(api.captured_queries),
            "selector_items_on_one_page": len(page.items),
            "selector_queries": len(selector.captured_queries),
        }
    return result


def run() -> dict:
    if settings.PUSH_PROVIDER != "log":
        raise RuntimeError("the benchmark counts pushes with the log provider")
    return {
        "storm": _storm(),
        "inbox_queries": _inbox_queries(),
        "setup": f"{LIKERS} likers, one video; {PROCESSES} processes calling like_create on a uniform {STORM_S:.0f} s "
        "schedule; a real Celery worker (notifications queue, concurrency 2, bench settings, PUSH_PROVIDER=log); "
        f"grouped push interval {settings.NOTIFICATIONS_GROUP_PUSH_INTERVAL_S} s; 2-core machine shared with others",
    }
