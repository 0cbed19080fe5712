import pytest
from django_redis import get_redis_connection

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """Redis refuses every connection: the feed store, the cache and the Celery broker alike."""
    from backend.celery import app

    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS}}

    def use_broker(url: str) -> None:
        # Celery keeps its connection and producer pools per broker URL: drop the cached ones.
        app.conf.broker_url = url
        app._pool = app.amqp._producer_pool = None

    broker_url = app.conf.broker_url
    use_broker(DEAD_REDIS)
    yield
    get_redis_connection("default").connection_pool.disconnect()
    use_broker(broker_url)
