import contextlib

import pytest
from django_redis import get_redis_connection

DEAD_REDIS = "redis://127.0.0.1:1/0"


@contextlib.contextmanager
def redis_unreachable(settings):
    """Redis refuses every connection inside the block: the feed store, the cache and the Celery broker alike."""
    from backend.celery import app

    def use_broker(url: str) -> None:
        # Celery keeps its connection and producer pools per broker URL: drop the cached ones.
        app.conf.broker_url = url
        app._pool = app.amqp._producer_pool = None

    working_caches, broker_url = settings.CACHES, app.conf.broker_url
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
