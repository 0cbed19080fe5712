import shutil
import tempfile
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from backend.core import outbox
from tests.factories import UserFactory
from tests.mail import smtp_inbox  # noqa: F401 (a fixture: a real SMTP server and what it received)


def _clear_test_keys() -> None:
    from django.conf import settings
    from django_redis import get_redis_connection
    from redis import RedisError

    try:
        client = get_redis_connection("default")
        for key in client.scan_iter(match=f"{settings.TEST_KEY_PREFIX}:*", count=1000):
            client.delete(key)
    except RedisError:
        pass  # a test that takes Redis down cleans up after itself


@pytest.fixture(scope="session", autouse=True)
def _no_sessions_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Before the test database is dropped (``django_db_setup``'s teardown, which runs after this one's): the
    connections of the Celery workers the e2e tests stopped or killed may still be closing, and PostgreSQL
    refuses to drop a database anyone is connected to (the run then leaves it behind with a warning)."""
    yield
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        deadline = time.monotonic() + 5
        cursor.execute(f"SELECT count(*) {others}")
        while cursor.fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.1)
            cursor.execute(f"SELECT count(*) {others}")
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture(autouse=True)
def _isolated_redis():
    """Throttle counters, stored feeds, cards and seen sets must not leak between tests (or runs)."""
    _clear_test_keys()
    yield
    _clear_test_keys()


@pytest.fixture(autouse=True)
def _outbox_sends_at_once():
    """A broker refusal in one test makes this process leave messages to the relay for a few seconds
    (``outbox._broker_failed_at``); no relay runs in tests, so the next test's messages would wait forever."""
    outbox._broker_failed_at = 0.0
    yield
    outbox._broker_failed_at = 0.0


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Each test stores media in a folder of its own, so it can check what was left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**settings.STORAGES["default"], "OPTIONS": {"location": settings.MEDIA_ROOT / "private"}},
            "public": {
                **settings.STORAGES["public"],
                "OPTIONS": {
                    "location": settings.MEDIA_ROOT / "public",
                    "base_url": f"{settings.SITE_URL}/media/public/",
                },
            },
        }


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client_for():
    """An API client authenticated as the given user with a real JWT."""
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return make


def pytest_sessionfinish(session, exitstatus):
    from django.conf import settings

    if str(settings.MEDIA_ROOT).startswith(tempfile.gettempdir()):
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
