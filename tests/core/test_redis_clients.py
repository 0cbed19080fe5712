"""Redis clients from URLs (backend/core/redis_clients.py): one server, or a Redis Cluster."""

import os
import subprocess
import sys

import pytest
import redis
from redis.cluster import RedisCluster

from backend.core import redis_clients
from tests.workers import DEAD_REDIS, ROOT


@pytest.mark.parametrize(
    ("url", "nodes"),
    [
        ("redis+cluster://10.0.0.1:7000", [("10.0.0.1", 7000)]),
        ("redis+cluster://10.0.0.1:7000,10.0.0.2:7001/0", [("10.0.0.1", 7000), ("10.0.0.2", 7001)]),
        ("rediss+cluster://user:p%40ss@a.example:6379,b.example:6380/?socket_timeout=3",
         [("a.example", 6379), ("b.example", 6380)]),
        ("redis+cluster://[::1]:7000,[fd00::2]:7001", [("::1", 7000), ("fd00::2", 7001)]),
    ],
)  # fmt: skip
def test_a_cluster_url_names_its_nodes(url, nodes):
    assert redis_clients.is_cluster_url(url)
    assert redis_clients.cluster_nodes(url) == nodes


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://host", "redis+cluster://host:port"])
def test_a_cluster_url_without_a_usable_node_is_refused(url):
    with pytest.raises(ValueError, match="node"):
        redis_clients.cluster_nodes(url)


def test_a_plain_url_is_one_server():
    client = redis_clients.client_from_url("redis://127.0.0.1:6380/3")
    assert not redis_clients.is_cluster_url("redis://127.0.0.1:6380/3")
    assert isinstance(client, redis.Redis) and not isinstance(client, RedisCluster)
    assert client.connection_pool.connection_kwargs["db"] == 3


def test_a_cluster_no_node_of_which_answers_is_an_outage_like_any_other():
    # Callers fall back on RedisError: redis-py's own "cannot be connected" is not one, ours is.
    with pytest.raises(redis.RedisError):
        redis_clients.client_from_url("redis+cluster://127.0.0.1:1,127.0.0.1:2")


def test_a_malformed_feed_redis_url_stops_the_process_at_start():
    env = {
        **os.environ,
        "FEED_REDIS_URL": "redis+cluster://no-port",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none",
        "REDIS_URL": DEAD_REDIS,
    }  # nothing embedded starts
    started = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert started.returncode != 0
    assert "FEED_REDIS_URL" in started.stderr and "ImproperlyConfigured" in started.stderr
