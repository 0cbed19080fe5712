import contextlib

import pytest
from celery import current_app
from django_redis import get_redis_connection

from tests.workers import DEAD_REDIS, RedisClusterServers, use_broker


@contextlib.contextmanager
def redis_unreachable(settings):
    """Redis refuses every connection inside the block: the feed store, the cache and the Celery broker alike."""
    working_caches, broker_url, feed_url = settings.CACHES, current_app.conf.broker_url, settings.FEED_REDIS_URL
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS}}
    settings.FEED_REDIS_URL = DEAD_REDIS
    use_broker(DEAD_REDIS)
    try:
        yield
    finally:
        get_redis_connection("default").connection_pool.disconnect()
        settings.CACHES = working_caches
        settings.FEED_REDIS_URL = feed_url
        use_broker(broker_url)


@pytest.fixture
def redis_down(settings):
    with redis_unreachable(settings):
        yield


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A real Redis Cluster (three primaries, a replica each) for the session."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


# Modules that never touch the feed store run once.
_PURE = {"tests.feeds.test_ranking": ("redis",)}


def pytest_generate_tests(metafunc):
    """Every feed test runs twice: on the feed store as configured (one Redis by default), and on a Redis
    Cluster (``FEED_REDIS_URL=redis+cluster://...``), where every multi-key command must keep to one slot.
    A module's ``FEED_STORES`` narrows that (the failover tests need the cluster)."""
    if "feed_store" in metafunc.fixturenames:
        stores = getattr(metafunc.module, "FEED_STORES", _PURE.get(metafunc.module.__name__, ("redis", "cluster")))
        metafunc.parametrize("feed_store", stores, indirect=True)


@pytest.fixture(autouse=True)
def feed_store(request, settings):
    """None on the store as configured; on the cluster, the running ``RedisClusterServers``."""
    if request.param == "redis":
        yield None
        return
    cluster = request.getfixturevalue("redis_cluster")
    cluster.wait_healthy()  # a test that failed a node over leaves it rejoining
    cluster.flush()
    settings.FEED_REDIS_URL = cluster.url
    yield cluster
    cluster.flush()
