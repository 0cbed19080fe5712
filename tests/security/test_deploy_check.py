"""`manage.py check --deploy` is clean with production settings; a client cannot claim HTTPS."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backend import embedded

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "remix.example.com",
        "REMIX_VAR_DIR": str(tmp_path),
    }
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        embedded.stop(tmp_path)  # where no URL is set, the check started the embedded servers there
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.django_db
def test_a_client_sent_x_forwarded_proto_does_not_make_a_request_secure(rf):
    request = rf.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert not request.is_secure()
