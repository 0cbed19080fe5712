import contextlib

import pytest
from celery import current_app
from django_redis import get_redis_connection

from tests.workers import DEAD_REDIS, use_broker


@contextlib.contextmanager
def redis_unreachable(settings):
    """Redis refuses every connection inside the block: the feed store, the cache and the Celery broker alike."""
    working_caches, broker_url = settings.CACHES, current_app.conf.broker_url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS}}
    use_broker(DEAD_REDIS)
    try:
        yield
    finally:
        get_redis_connection("default").connection_pool.disconnect()
        settings.CACHES = working_caches
        use_broker(broker_url)


@pytest.fixture
def redis_down(settings):
    with redis_unreachable(settings):
        yield
