"""No silent embedded servers in production: without DEBUG, the stores must be named or embedded asked for."""

import subprocess
import sys

import pytest

from tests.workers import ROOT

BASE_ENV = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "guard-test-secret-key-0123456789abcdef", "DEBUG": "false"}


def import_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import backend.settings as s; print(s.DATABASES['default']['NAME'])"],
        cwd=ROOT,
        env={**BASE_ENV, "REMIX_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "urls",
    [{}, {"DATABASE_URL": "postgres://remix@db/remix"}, {"REDIS_URL": "redis://cache:6379/0"}],
    ids=["neither", "no REDIS_URL", "no DATABASE_URL"],
)
def test_production_settings_refuse_to_start_without_the_store_urls(tmp_path, urls):
    done = import_settings(tmp_path, **urls)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "DATABASE_URL and REDIS_URL must be set" in done.stderr and "EMBEDDED_SERVICES=true" in done.stderr
    assert not (tmp_path / "postgres").exists() and not (tmp_path / "redis").exists()


def test_production_settings_start_with_both_urls(tmp_path):
    done = import_settings(tmp_path, DATABASE_URL="postgres://remix@db/remix", REDIS_URL="redis://cache:6379/0")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "remix"
