"""The warm swipe feed with its store on a Redis Cluster, side by side with the single Redis.

The feed benchmark's data set and warm viewers (bench/bench_feed.py: 20,000 users, 200,000 videos,
400 viewers with stored feeds and every card cached ahead). The stored feeds and cards are built once
on the single Redis and copied key by key to a local Redis Cluster of three primaries and a replica
each (tests/workers.py ``RedisClusterServers``), so both stores hold the same keys. Two gunicorn
servers (4 sync workers each, production settings) run at once, one per store
(``FEED_REDIS_URL=redis+cluster://...`` for the second); the load alternates between them in short
rounds (this machine's speed drifts within a minute), and the recorded ratio is the median of the
rounds' cluster / single-node ratios. Latency is measured at half the single node's peak on both.

On one machine the cluster costs what it costs a page (a slot-split card MGET, one more hop when a
client's slot map is cold) without giving what it is for (more memory and CPU than one server): the
ratio says the cluster's overhead, not its capacity.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from backend.core import redis_clients
from backend.creators.models import User
from bench import bench_feed
from feeds import services, store
from tests.workers import RedisClusterServers, free_port

ROUNDS = 7
VIEWERS = 200  # warm viewers read round robin: enough that pages spread over every slot
_load = bench_feed._run_load


def _start_server(port: int, extra_env: dict[str, str], servers: list) -> None:
    """gunicorn as bench_feed starts it, waited for longer (a loaded machine boots it slowly); kept in
    ``servers`` from the start, so it is stopped whatever happens."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "THROTTLE_USER": "100000000/min",
           "THROTTLE_ANON": "100000000/min", **extra_env}  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "backend.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "4",
               "--log-level", "warning"]  # fmt: skip
    servers.append(subprocess.Popen(command, cwd=bench_feed.ROOT, env=env, start_new_session=True))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not start")


def _copy_feed_keys(target) -> int:
    """Copy every feed store key (stored feeds, viewer sets, cards) from the single Redis to ``target``."""
    source, copied = store.redis(), 0
    readers = {
        b"string": lambda pipe, key: pipe.get(key),
        b"zset": lambda pipe, key: pipe.zrange(key, 0, -1, withscores=True),
        b"set": lambda pipe, key: pipe.smembers(key),
        b"hash": lambda pipe, key: pipe.hgetall(key),
    }
    writers = {
        b"string": lambda pipe, key, value: pipe.set(key, value),
        b"zset": lambda pipe, key, value: pipe.zadd(key, dict(value)),
        b"set": lambda pipe, key, value: pipe.sadd(key, *value),
        b"hash": lambda pipe, key, value: pipe.hset(key, mapping=value),
    }
    keys = list(source.scan_iter(match=f"{settings.FEED_KEY_PREFIX}:*", count=10_000))
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        pipe = source.pipeline(transaction=False)
        for key in chunk:
            pipe.type(key)
            pipe.pttl(key)
        kinds_ttls = pipe.execute()
        chunk = [(key, kinds_ttls[2 * i], kinds_ttls[2 * i + 1]) for i, key in enumerate(chunk)]
        chunk = [(key, kind, ttl) for key, kind, ttl in chunk if kind in readers]
        pipe = source.pipeline(transaction=False)
        for key, kind, _ in chunk:
            readers[kind](pipe, key)
        values = pipe.execute()
        pipe = target.pipeline(transaction=False)
        for (key, kind, ttl), value in zip(chunk, values, strict=True):
            if value:
                writers[kind](pipe, key, value)
                if ttl > 0:
                    pipe.pexpire(key, ttl)
                copied += 1
        pipe.execute()
    return copied


def run() -> dict:
    bench_feed._dataset()
    bench_feed._clear_feeds()
    users = list(User.objects.filter(handle__startswith="feedbench_").order_by("id")[:VIEWERS])
    for user in users:
        services.feed_build(user=user)
    bench_feed._cache_cards_ahead(users)
    tokens = [str(AccessToken.for_user(user)) for user in users]
    warm = [("/api/v1/feed", token) for token in tokens]
    cluster = RedisClusterServers(Path(settings.VAR_DIR) / "bench" / f"redis-cluster-{os.getpid()}")
    servers = []
    try:
        version = cluster.node(cluster.ports[0]).info("server")["redis_version"]
        copied = _copy_feed_keys(redis_clients.client_from_url(cluster.url))
        single_port, cluster_port = free_port(), free_port()
        _start_server(single_port, {}, servers)
        _start_server(cluster_port, {"FEED_REDIS_URL": cluster.url}, servers)
        ports = {"single_redis": single_port, "redis_cluster": cluster_port}
        for port in ports.values():  # warm up workers (and the cluster clients' slot maps)
            bench_feed._run_load(port, warm, duration=2)
        rounds = []
        for index in range(ROUNDS):
            names = list(ports)[:: -1 if index % 2 else 1]
            rounds.append({name: _load(ports[name], warm, duration=bench_feed.ROUND_S) for name in names})
        peak = {name: bench_feed._median_round(rounds, name) for name in ports}
        half = peak["single_redis"]["requests_per_s"] / 2
        at_half = {f"{name}_at_half_single_peak": _load(port, warm, rate=half) for name, port in ports.items()}
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(15)
        cluster.stop()
        shutil.rmtree(cluster.data_dir, ignore_errors=True)
    ratios = [r["redis_cluster"]["requests_per_s"] / r["single_redis"]["requests_per_s"] for r in rounds]
    return {
        "setup": "two gunicorn servers (4 sync workers each, production settings), one on the single Redis, "
        "one on a local Redis Cluster (3 primaries + 3 replicas, redis-server "
        f"{version}); the same stored feeds and "
        "cards on both; load from a second process, alternating in rounds",
        "recorded_under_load": "a shared 2-CPU machine, other benchmarks and test suites running beside it",
        "warm_viewers": len(users),
        "keys_copied_to_cluster": copied,
        "concurrency": bench_feed.CONCURRENCY,
        "load": {**peak, **at_half},
        "cluster_vs_single_throughput": round(statistics.median(ratios), 3),
        "rounds": [
            {**{name: r[name]["requests_per_s"] for name in r}, "ratio": round(ratio, 3)}
            for r, ratio in zip(rounds, ratios, strict=True)
        ],
        "target": "a warm page on the cluster within ~15% of the single Redis; no errors on either",
    }
