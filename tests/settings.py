"""Test settings: the real settings, with test-only speed-ups and isolation."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("CACHE_KEY_PREFIX", "remix-test")

from backend.settings import *  # noqa: F403
from backend.settings import STORAGES

# Fast hashing: the suite creates many users; production keeps PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="remix-test-media-"))
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    STORAGES["default"]["OPTIONS"]["location"] = MEDIA_ROOT / "private"
    STORAGES["public"]["OPTIONS"]["location"] = MEDIA_ROOT / "public"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

STATIC_ROOT = MEDIA_ROOT / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
