"""Secrets: no signing key lives in the code; a key read from the repository forges nothing."""

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.utils import timezone

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
# The constant settings fell back to before: anyone who read the repository could sign with it.
OLD_CONSTANT = "development-only-secret-key-never-used-in-production-0123456789"


def _settings_key(var_dir: Path) -> str:
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "",
        "REMIX_VAR_DIR": str(var_dir),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    code = "import backend.settings as s; print(s.SECRET_KEY)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_settings_source_holds_no_signing_key():
    source = (ROOT / "backend" / "settings.py").read_text()
    assert OLD_CONSTANT not in source
    assert 'SECRET_KEY = "' not in source and "SECRET_KEY = '" not in source


def test_debug_without_a_key_makes_a_private_random_key_once_and_reuses_it(tmp_path):
    first = _settings_key(tmp_path)
    second = _settings_key(tmp_path)
    assert first == second
    assert len(first) >= 50 and first != OLD_CONSTANT
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another checkout gets another key.
    assert _settings_key(tmp_path / "other") != first


def test_production_without_a_key_refuses_to_start(tmp_path):
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "", "REMIX_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import backend.settings"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "SECRET_KEY must be set" in done.stderr


@pytest.mark.django_db
def test_a_token_forged_with_the_old_constant_is_refused(api_client, settings):
    admin = UserFactory(is_staff=True, is_superuser=True)
    now = timezone.now()
    claims = {
        "token_type": "access",
        "exp": int((now + timedelta(minutes=10)).timestamp()),
        "iat": int(now.timestamp()),
        "jti": "forged",
        "user_id": str(admin.id),
    }
    forged = jwt.encode(claims, OLD_CONSTANT, algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    # The same claims signed with the configured key pass: the refusal is the signature's.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(claims, settings.SECRET_KEY, algorithm='HS256')}")
    assert api_client.get("/api/v1/me").status_code == 200


@pytest.mark.django_db
def test_the_demo_admin_exists_only_with_debug(settings):
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import CommandError, call_command

    from backend.creators.models import User
    from backend.demo import data as demo

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("demo_data")
    with pytest.raises(ImproperlyConfigured):
        demo.load(log=lambda *_: None)
    assert not User.objects.filter(email=demo.DEMO_ADMIN_EMAIL).exists()
