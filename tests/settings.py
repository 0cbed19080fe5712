"""Test settings: the real settings, with test-only speed-ups and isolation."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# Each pytest-xdist worker (and the Celery workers its tests start, which inherit PYTEST_XDIST_WORKER)
# keeps its Redis keys, broker queues and media under a name of its own, so parallel workers never meet.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_KEY_PREFIX = f"remix-test-{XDIST_WORKER}" if XDIST_WORKER else "remix-test"
os.environ["CACHE_KEY_PREFIX"] = TEST_KEY_PREFIX
os.environ["FEED_KEY_PREFIX"] = TEST_KEY_PREFIX
# Without DATABASE_URL and REDIS_URL the suite runs on the embedded servers (and so do the processes it starts).
os.environ.setdefault("EMBEDDED_SERVICES", "true")

from backend.settings import *  # noqa: E402, F403 (the environment above must come first)
from backend.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, STORAGES, env  # noqa: E402

# Fast hashing: the suite creates many users; production keeps PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False

# Shared with the Celery worker processes that end-to-end tests start.
MEDIA_ROOT = Path(
    os.environ.setdefault(f"REMIX_TEST_MEDIA_ROOT{XDIST_WORKER}", tempfile.mkdtemp(prefix="remix-test-media-"))
)
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    STORAGES["default"]["OPTIONS"]["location"] = MEDIA_ROOT / "private"
    STORAGES["public"]["OPTIONS"]["location"] = MEDIA_ROOT / "public"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

STATIC_ROOT = MEDIA_ROOT / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# The suite's Celery messages never reach a developer's `make run` worker, and back.
# (A RabbitMQ broker has no key prefix: tests on it use queues of their own, tests/core/test_broker_url.py.)
if "visibility_timeout" in CELERY_BROKER_TRANSPORT_OPTIONS:
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{TEST_KEY_PREFIX}:"}

# A read replica that mirrors the test database (the same database over a connection of its own), so the
# router's tests (tests/core/test_db_router.py) have one where no real replica runs. Reads go to replicas
# only in the tests that turn them on (settings.DATABASE_REPLICAS) and allow the alias (django_db(databases=)).
DATABASES.setdefault("replica1", {**DATABASES["default"], "TEST": {"MIRROR": "default"}})
DATABASE_REPLICAS: list[str] = []
# Workers in tests notice dead peers and poll providers quickly.
RENDER_POLL_INTERVAL_S = env.float("RENDER_POLL_INTERVAL_S", default=0.2)
RENDER_HEARTBEAT_INTERVAL_S = env.float("RENDER_HEARTBEAT_INTERVAL_S", default=0.5)
RENDER_HEARTBEAT_TIMEOUT_S = env.int("RENDER_HEARTBEAT_TIMEOUT_S", default=3)
RENDER_RETRY_BACKOFF_S = 1
RENDER_RETRY_BACKOFF_MAX_S = 2
# Work folders of renders (media/workdirs.py) stay inside the test run's own folder.
RENDER_WORK_ROOT = MEDIA_ROOT / "work"
