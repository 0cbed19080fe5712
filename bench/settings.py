"""Benchmark settings: the real settings on a database and key space of their own."""

import os

os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("CACHE_KEY_PREFIX", "remix-bench")
os.environ.setdefault("FEED_KEY_PREFIX", "remix-bench")
os.environ.setdefault("EMBEDDED_SERVICES", "true")

from backend.settings import *  # noqa: F403
from backend.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES

DATABASES["default"]["NAME"] = os.environ.get("BENCH_DATABASE_NAME", "remix_bench")
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": "remix-bench:"}
SECURE_SSL_REDIRECT = False
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

BENCH_CLIP = VAR_DIR / "bench" / "noop-source.mp4"  # noqa: F405
RENDER_PROVIDER_CLASSES = {"noop": "bench.noop_provider.NoopProvider"}
RENDER_PROVIDER_OPTIONS = {**RENDER_PROVIDER_OPTIONS, "noop": {"source": str(BENCH_CLIP)}}  # noqa: F405
RENDER_POLL_INTERVAL_S = 0.05
TIER_QUOTAS = {tier: {**quota, "daily_renders": 10_000, "concurrent_renders": 100}
               for tier, quota in TIER_QUOTAS.items()}  # noqa: F405  # fmt: skip
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
ROOT_URLCONF = "bench.urls"
