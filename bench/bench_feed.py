"""The swipe feed under load, side by side with a trivial authenticated endpoint.

Data: 20,000 users (20 follows each), 200,000 public videos over two weeks,
2,000,000 likes, and impression counters summing to more than 2,000,000.
Server: gunicorn with 4 sync workers and the production settings (bench
database, Redis); load: a second process on loopback with keep-alive
connections. Measured for ``GET /bench/ping`` (a trivial authenticated DRF view
added by ``bench/urls.py``), ``GET /api/v1/feed`` warm (stored feed, cards
cached ahead as refills keep them) and cold (every request a user with no
stored feed): throughput at full concurrency, p50/p99 at half that rate;
queries per page; the time to build one user's feed (rank and store its ids)
and to cache the cards of its next pages (the refill the first page queues).
Trivial and warm feed run back to back in several short rounds (this machine's
speed drifts by +-15% within a minute); the recorded ratio is the median of
the rounds' ratios.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from backend.creators.models import User
from backend.videos.models import Video
from feeds import services, store
from feeds.cards import cards_build
from tests.workers import free_port

USERS = 20_000
VIDEOS = 200_000
LIKES = 2_000_000
FOLLOWS_PER_USER = 20
SAMPLE_USERS = 400
DURATION_S = 8
ROUNDS = 7
ROUND_S = 4
CONCURRENCY = 8
ROOT = Path(__file__).resolve().parent.parent


def _generate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE videos_videolineage, videos_like, videos_comment, videos_videohashtag, "
                       "cameos_appearance, media_videofingerprint, media_renderjob_cameos, media_renderjob, "
                       "videos_video, creators_follow RESTART IDENTITY CASCADE")  # fmt: skip
        cursor.execute("DELETE FROM creators_user WHERE handle LIKE 'feedbench_%%'")
        cursor.execute(
            """
            INSERT INTO creators_user (password, email, handle, display_name, bio, avatar, tier, follower_count,
                following_count, is_active, is_staff, is_superuser, created_at, language)
            SELECT '!', 'feedbench_' || n || '@example.com', 'feedbench_' || n, 'Bench ' || n, '', '', 'free', 0, 0,
                   true, false, false, now(), ''
            FROM generate_series(1, %s) AS n
            """,
            [USERS],
        )
        cursor.execute("SELECT min(id), max(id) FROM creators_user WHERE handle LIKE 'feedbench_%%'")
        low, high = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO creators_follow (follower_id, followee_id, created_at)
            SELECT DISTINCT f, e, now() FROM (
                SELECT %(low)s + (n / %(per)s) AS f, %(low)s + floor(random() * (%(high)s - %(low)s))::int AS e
                FROM generate_series(0, %(users)s * %(per)s - 1) AS n
            ) pairs WHERE f <> e
            ON CONFLICT DO NOTHING
            """,
            {"low": low, "high": high, "per": FOLLOWS_PER_USER, "users": USERS},
        )
        cursor.execute(
            """
            INSERT INTO videos_video (owner_id, prompt, prompt_hidden, caption, status, visibility, remix_allowed,
                safe_for_teens, depth, duration_s, width, height, mp4, hls, poster, thumbnails, like_count,
                comment_count, remix_count, view_count, impression_count, completion_count, skip_count,
                watch_seconds, created_at, published_at, removed_reason, withdrawn_reason, media_public,
                removed_by_owner)
            SELECT %(low)s + floor(random() * (%(high)s - %(low)s))::int,
                   'bench prompt ' || n || (ARRAY[' cooking',' horror',' dance',' space',' pets'])[1 + n %% 5],
                   false, '', 'published', 'public', true, true, 0, 8, 720, 1280,
                   'videos/' || n || '/video.mp4', 'videos/' || n || '/hls/master.m3u8',
                   'videos/' || n || '/poster.jpg',
                   '[]', 0, 0, 0, 0, 5 + floor(random() * 40)::int, floor(random() * 10)::int, 0, 0,
                   now() - random() * interval '14 days', now() - random() * interval '14 days', '', '', true,
                   false
            FROM generate_series(1, %(videos)s) AS n
            """,
            {"low": low, "high": high, "videos": VIDEOS},
        )
        cursor.execute("SELECT min(id), max(id) FROM videos_video")
        vlow, vhigh = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO videos_like (video_id, user_id, created_at)
            SELECT %(vlow)s + floor(random() * (%(vhigh)s - %(vlow)s))::int,
                   %(low)s + floor(random() * (%(high)s - %(low)s))::int, now()
            FROM generate_series(1, %(likes)s)
            ON CONFLICT DO NOTHING
            """,
            {"vlow": vlow, "vhigh": vhigh, "low": low, "high": high, "likes": int(LIKES * 1.01)},
        )
        cursor.execute(
            "UPDATE videos_video v SET like_count = l.n, impression_count = v.impression_count + l.n * 3 "
            "FROM (SELECT video_id, count(*) n FROM videos_like GROUP BY video_id) l WHERE l.video_id = v.id"
        )
        cursor.execute(
            "UPDATE creators_user u SET follower_count = f.n FROM (SELECT followee_id, count(*) n "
            "FROM creators_follow GROUP BY followee_id) f WHERE f.followee_id = u.id"
        )
        for table in ("creators_user", "creators_follow", "videos_video", "videos_like"):
            cursor.execute(f"ANALYZE {table}")


def _dataset() -> dict:
    if Video.objects.count() != VIDEOS or not User.objects.filter(handle="feedbench_1").exists():
        started = time.perf_counter()
        _generate()
        load_seconds = round(time.perf_counter() - started, 1)
    else:
        load_seconds = None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(impression_count) FROM videos_video")
        videos, impressions = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM videos_like")
        likes = cursor.fetchone()[0]
    return {"users": User.objects.filter(handle__startswith="feedbench_").count(), "videos": videos,
            "likes": likes, "impressions": int(impressions), "load_seconds": load_seconds}  # fmt: skip


def _clear_feeds() -> None:
    client = store.redis()
    for key in client.scan_iter(match=f"{settings.FEED_KEY_PREFIX}:*"):
        client.delete(key)


def _start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "THROTTLE_USER": "100000000/min",
           "THROTTLE_ANON": "100000000/min"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backend.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "4",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    # Generous: on a loaded machine the workers take long to import and the health check to answer.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not start")


def _load(port: int, paths: list[tuple[str, str]], duration: float, concurrency: int, rate: float | None, queue):
    """Runs in its own process: hit ``paths`` (path, token) round robin; report latencies."""
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + duration
    lock = threading.Lock()
    interval = concurrency / rate if rate else 0.0

    def client(index: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = index
        # Clients start out of step, so paced requests arrive evenly rather than in bursts of ``concurrency``.
        next_at = time.monotonic() + interval * index / concurrency
        while time.monotonic() < stop_at:
            if interval:
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
            path, token = paths[n % len(paths)]
            n += concurrency
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put({"latencies": latencies, "errors": errors[0], "duration": duration})


def _run_load(port, paths, *, concurrency=CONCURRENCY, rate=None, duration=DURATION_S) -> dict:
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_load, args=(port, paths, duration, concurrency, rate, queue))
    process.start()
    result = queue.get()
    process.join()
    latencies = sorted(result["latencies"])
    if not latencies:
        return {"requests_per_s": 0, "errors": result["errors"]}
    return {
        "requests_per_s": round(len(latencies) / result["duration"], 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "errors": result["errors"],
    }


def _queries_per_page(user: User) -> dict:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    with CaptureQueriesContext(connection) as cold:
        first = client.get("/api/v1/feed").json()
    services.feed_cards_warm(user_id=user.id)  # what the refill the first page queued does on a worker
    with CaptureQueriesContext(connection) as warm:
        second = client.get("/api/v1/feed", {"cursor": first["next"]}).json()
    with CaptureQueriesContext(connection) as warm_again:
        client.get("/api/v1/feed", {"cursor": second["next"]})
    return {"cold_first_page": len(cold), "warm_page": len(warm), "next_warm_page": len(warm_again)}


def run() -> dict:
    data = _dataset()
    _clear_feeds()
    users = list(User.objects.filter(handle__startswith="feedbench_").order_by("id")[: SAMPLE_USERS * 2])
    warm_users, cold_users = users[:SAMPLE_USERS], users[SAMPLE_USERS:]
    build_times, warm_times = [], []
    for user in warm_users:
        started = time.perf_counter()
        services.feed_build(user=user)
        build_times.append(time.perf_counter() - started)
    for user in warm_users[:50]:
        started = time.perf_counter()
        services.feed_cards_warm(user_id=user.id)
        warm_times.append(time.perf_counter() - started)
    _cache_cards_ahead(warm_users)
    queries = _queries_per_page(random.Random(1).choice(cold_users))
    tokens = {user.id: str(AccessToken.for_user(user)) for user in users}
    port = free_port()
    server = _start_server(port)
    try:
        trivial = [("/bench/ping", tokens[u.id]) for u in warm_users]
        warm = [("/api/v1/feed", tokens[u.id]) for u in warm_users]
        cold = [("/api/v1/feed", tokens[u.id]) for u in cold_users]
        _run_load(port, trivial, duration=2)  # warm up workers
        _run_load(port, warm, duration=2)
        rounds = [_round(port, {"trivial": trivial, "feed_warm": warm}, flip=index % 2) for index in range(ROUNDS)]
        results = {name: _median_round(rounds, name) for name in ("trivial", "feed_warm")}
        _clear_feeds_for(cold_users)
        results["feed_cold"] = _run_load(port, cold, duration=DURATION_S)
        half = results["feed_warm"]["requests_per_s"] / 2
        results["feed_warm_at_half_peak"] = _run_load(port, warm, rate=half)
        results["trivial_at_half_peak"] = _run_load(port, trivial, rate=results["trivial"]["requests_per_s"] / 2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    return {
        "dataset": data,
        "server": "gunicorn, 4 sync workers, production settings on the bench database; load from a second process",
        "concurrency": CONCURRENCY,
        "load": results,
        "feed_warm_throughput_vs_trivial": statistics.median(_ratio(r) for r in rounds),
        "rounds": [{**{name: r[name]["requests_per_s"] for name in r}, "ratio": _ratio(r)} for r in rounds],
        "queries_per_request": queries,
        "feed_build_one_user_ms": _median_p90_ms(build_times),
        "cards_warm_one_user_ms": _median_p90_ms(warm_times),
        "target": "feed >= 70% of trivial throughput; p99 < 50 ms at half peak; constant queries per page",
    }


def _round(port: int, loads: dict[str, list], *, flip: bool) -> dict:
    """One round of each load, back to back; every other round in the other order, so drift weighs on both."""
    names = list(loads)[::-1] if flip else list(loads)
    return {name: _run_load(port, loads[name], duration=ROUND_S) for name in names}


def _cache_cards_ahead(users: list[User]) -> None:
    """What refills keep up in production: every card of these feeds cached (the load reads ~500 per user)."""
    client = store.redis()
    rows = {user.id: client.zrange(store.feed_key(user.id, store.FOR_YOU), 0, -1, withscores=True) for user in users}
    video_ids = sorted({int(member) for feed in rows.values() for member, _ in feed})
    for start in range(0, len(video_ids), 2000):
        chunk = video_ids[start : start + 2000]
        cached = store.cards_get(chunk)
        store.cards_put(cards_build([video_id for video_id in chunk if video_id not in cached]).values())
    for user_id, feed in rows.items():
        store.cards_warm_until_set(user_id, feed[-1][1])


def _median_p90_ms(seconds: list[float]) -> dict:
    return {
        "median": round(statistics.median(seconds) * 1000, 1),
        "p90": round(sorted(seconds)[int(len(seconds) * 0.9)] * 1000, 1),
    }


def _ratio(round_: dict) -> float:
    return round(round_["feed_warm"]["requests_per_s"] / round_["trivial"]["requests_per_s"], 3)


def _median_round(rounds: list[dict], name: str) -> dict:
    """The round with the median throughput of ``name``, latencies included."""
    return sorted((r[name] for r in rounds), key=lambda result: result["requests_per_s"])[len(rounds) // 2]


def _clear_feeds_for(users: list[User]) -> None:
    client = store.redis()
    for user in users:
        client.delete(store.feed_key(user.id, store.FOR_YOU), *store.seen_keys(user.id))


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=2))
