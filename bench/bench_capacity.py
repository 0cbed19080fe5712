"""What one viewer, one row and one second of video cost in storage: the inputs of docs/capacity.md.

- **Redis per viewer**: viewers of the feed dataset (``bench_feed``: 20,000 users, 200,000 videos,
  2,000,000 likes) each scroll a day's 30 pages of their for-you feed and send the impressions and
  watch events of what they were shown, through the services the API calls (refills run in process,
  as the worker would run them); then ``MEMORY USAGE`` of every key of theirs, of the cards they
  were served (shared by every viewer) and of the shared first-page lists.
- **PostgreSQL per row**: for every table with rows in the bench database, the rows, the average
  tuple (``pg_column_size``), and the table with its indexes and TOAST (``pg_total_relation_size``)
  per row.
- **S3 per second of video**: the files ``media.postprocessing.render_outputs`` publishes for a 15 s
  clip at 720x1280 and at 1080x1920 (FFmpeg's ``testsrc2`` with temporal grain, as
  ``bench_postprocess``), per rung of the ladder, per second of video.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import connection

from backend.creators.models import User
from bench.bench_postprocess import _credentials, make_source
from feeds import cold_start, services, store, tasks
from media import postprocessing

VIEWERS = 40
PAGES_PER_DAY = 30
CLIP_SECONDS = 15
TABLES = (
    "creators_user", "creators_follow", "creators_block", "videos_video", "videos_like", "videos_comment",
    "videos_videolineage", "videos_videohashtag", "cameos_appearance", "media_renderjob", "media_renderjob_cameos",
    "media_videofingerprint", "notifications_notification", "feeds_counterflush", "core_outboxmessage",
    "core_auditlogentry",
)  # fmt: skip


def _memory(client, keys: list) -> list[int]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return [size or 0 for size in pipe.execute()]


def _scroll_a_day(user: User) -> set[int]:
    """A viewer's day: 30 pages, each page's cards sent back as impressions and watch time."""
    shown: set[int] = set()
    cursor = None
    for _ in range(PAGES_PER_DAY):
        page = services.feed_page_serve(viewer=user, kind=store.FOR_YOU, cursor=cursor)
        ids = [int(card.split(b'"id":', 1)[1].split(b",", 1)[0]) for card in page.cards]
        shown.update(ids)
        events = [{"id": uuid.uuid4().hex, "video_id": video_id, "type": kind, "watch_ms": 4000}
                  for video_id in ids for kind in ("impression", "watch")]  # fmt: skip
        if events:
            services.events_record(user=user, events=events)
        cursor = page.next
        if cursor is None:
            break
    services.feed_page_serve(viewer=user, kind=store.FOLLOWING)
    return shown


def redis_per_viewer() -> dict:
    client = store.redis()
    users = list(User.objects.filter(handle__startswith="feedbench_").order_by("-id")[:VIEWERS])
    original_delay = tasks.feed_refill.delay
    tasks.feed_refill.delay = lambda **kwargs: tasks.feed_refill(**kwargs)  # the worker's refills, in process
    try:
        shown: set[int] = set()
        for user in users:
            for key in client.scan_iter(match=store.user_key(user.id, "*")):
                client.delete(key)
            shown |= _scroll_a_day(user)
    finally:
        tasks.feed_refill.delay = original_delay
    per_kind: dict[str, list[int]] = defaultdict(list)
    totals = []
    for user in users:
        keys = list(client.scan_iter(match=store.user_key(user.id, "*")))
        sizes = _memory(client, keys)
        totals.append(sum(sizes))
        for key, size in zip(keys, sizes, strict=True):
            name = key.decode().split("}:", 1)[1]
            per_kind[name.split(":")[0]].append(size)
    cards = _memory(client, [store.card_key(video_id) for video_id in sorted(shown)])
    cards = [size for size in cards if size]
    shared_keys = list(client.scan_iter(match=cold_start.shared_key("*", False).replace(":adult}", "*")))
    for_you = [int(client.zcard(store.feed_key(user.id, store.FOR_YOU))) for user in users]
    return {
        "viewers": len(users),
        "pages_per_viewer": PAGES_PER_DAY,
        "bytes_per_viewer": {"median": statistics.median(totals), "max": max(totals)},
        "bytes_per_viewer_key": {name: round(statistics.median(sizes)) for name, sizes in sorted(per_kind.items())},
        "ids_per_for_you_feed": {"median": statistics.median(for_you), "cap": settings.FEED_CAP},
        "card_bytes": {"median": statistics.median(cards), "count": len(cards)} if cards else None,
        "shared_list_bytes": sum(_memory(client, shared_keys)) if shared_keys else 0,
        "shared_lists": len(shared_keys),
        "used_memory_bytes": client.info("memory")["used_memory"],
    }


def postgres_per_row() -> dict:
    rows = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                continue
            cursor.execute(f"SELECT count(*) FROM {table}")
            count = cursor.fetchone()[0]
            if not count:
                rows[table] = {"rows": 0}
                continue
            cursor.execute(f"SELECT avg(pg_column_size(t.*)) FROM (SELECT * FROM {table} LIMIT 20000) t")
            tuple_bytes = float(cursor.fetchone()[0])
            cursor.execute("SELECT pg_total_relation_size(%s), pg_relation_size(%s), pg_indexes_size(%s)", [table] * 3)
            total, heap, indexes = cursor.fetchone()
            rows[table] = {
                "rows": count,
                "tuple_bytes": round(tuple_bytes),
                "heap_bytes_per_row": round(heap / count),
                "index_bytes_per_row": round(indexes / count),
                "total_bytes_per_row": round(total / count),
            }
    return rows


def s3_per_second() -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    credentials = _credentials()
    results = {}
    try:
        for width, height in ((720, 1280), (1080, 1920)):
            source = make_source(root / f"source-{width}x{height}.mp4", width=width, height=height,
                                 seconds=CLIP_SECONDS)  # fmt: skip
            workdir = root / f"{width}x{height}"
            workdir.mkdir()
            outputs = postprocessing.render_outputs(source, workdir, job_id="bench", handle="bench",
                                                    credentials=credentials)  # fmt: skip
            per_rung: dict[str, int] = defaultdict(int)
            for path in outputs.hls_dir.iterdir():
                rung = path.name.split("_", 1)[0].split(".", 1)[0]
                per_rung[rung if rung.endswith("p") else "playlists"] += path.stat().st_size
            stills = outputs.poster.stat().st_size + sum(path.stat().st_size for path in outputs.thumbnails)
            published = sum(per_rung.values()) + outputs.mp4.stat().st_size + stills
            seconds = outputs.info.duration_s
            results[f"{width}x{height}"] = {
                "seconds": round(seconds, 2),
                "hls_bytes_per_video_s": {rung: round(size / seconds) for rung, size in sorted(per_rung.items())},
                "download_mp4_bytes_per_video_s": round(outputs.mp4.stat().st_size / seconds),
                "stills_bytes_per_video": stills,
                "published_bytes_per_video_s": round(published / seconds),
                "original_bytes_per_video_s": round(source.stat().st_size / seconds),
            }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def run() -> dict:
    """On the database ``bench_feed`` (or ``bench_first_page``) filled, with what ``bench_render`` added."""
    if not User.objects.filter(handle__startswith="feedbench_").exists():
        raise RuntimeError("run `python -m bench feed` (or first_page) first: it loads the feed dataset")
    return {
        "note": "recorded under load: the machine (2 CPUs) was shared with other engineers' test runs; sizes "
        "do not depend on load",
        "redis": redis_per_viewer(),
        "postgres": postgres_per_row(),
        "s3": s3_per_second(),
        "source_clip": "testsrc2 with temporal grain (noise=alls=2:allf=t), 24 fps, AAC; libx264 veryfast",
    }
