"""The router against a real streaming replica: a PostgreSQL primary and a hot standby made from it with
``pg_basebackup -R`` (pgserver's binaries), each on a unix socket of its own. Replay on the standby is
paused to make it lag, so a read shows which server answered it. Both servers are stopped after the test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connections
from pgserver._commands import pg_basebackup, pg_ctl

from tests.factories import UserFactory, VideoFactory
from tests.workers import PostgresServer

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica1"])


class StandbyServer:
    """A hot standby of ``primary`` (a tests.workers.PostgresServer), streaming its WAL."""

    def __init__(self, primary: PostgresServer):
        self.user = primary.server.system_user  # pgserver runs PostgreSQL as this user when we are root
        # Short: a unix socket's path is limited to about 100 characters.
        self.base = Path(tempfile.mkdtemp(prefix="remix-standby-"))
        self.base.chmod(0o711)
        self.pgdata = self.base / "data"
        self.pgdata.mkdir(mode=0o700)
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            for path in (self.base, self.pgdata):
                os.chown(path, account.pw_uid, account.pw_gid)
        try:
            # -R writes standby.signal and primary_conninfo (the primary's socket); -X stream brings the WAL;
            # -c fast checkpoints at once (a spread checkpoint after the migrations takes minutes).
            source = ["-h", primary.socket_dir, "-U", "postgres"]
            pg_basebackup(
                [*source, "-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast"],
                user=self.user,
                timeout=120,
            )
            for lock in self.pgdata.glob(".s.PGSQL.*"):  # the primary's socket lock, copied with its data folder
                lock.unlink()
            pg_ctl(
                ["-w", "-o", '-h ""', "-o", f"-k {self.base}", "-l", str(self.base / "standby.log"), "start"],
                pgdata=self.pgdata,
                user=self.user,
                timeout=60,
            )
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)  # nothing started: only the folder to remove
            raise
        self.running = True

    def settings_dict(self) -> dict:
        return {"HOST": str(self.base), "PORT": "", "NAME": "remix", "USER": "postgres", "PASSWORD": ""}

    def sql(self, statement: str, *params):
        with psycopg.connect(host=str(self.base), dbname="remix", user="postgres", autocommit=True) as conn:
            return conn.execute(statement, params).fetchone()

    def caught_up_with(self, primary: PostgresServer, timeout: float = 30) -> None:
        """Wait until the standby replayed everything the primary wrote so far."""
        with psycopg.connect(primary.url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            (lsn,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        deadline = time.monotonic() + timeout
        while not self.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", str(lsn))[0]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not catch up; see {self.base / 'standby.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.running:
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=self.pgdata, user=self.user, timeout=60)
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def primary_and_standby():
    # Not under pytest's tmp_path: PostgreSQL's own user (pgserver's, when we are root) could not reach it.
    base = Path(tempfile.mkdtemp(prefix="remix-primary-"))
    base.chmod(0o711)
    primary = PostgresServer(base / "data")
    try:
        standby = StandbyServer(primary)
        try:
            yield primary, standby
        finally:
            standby.stop()
    finally:
        primary.delete()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def databases_at(**aliases: dict):
    """Each named connection of this process elsewhere inside the block."""
    saved = {alias: dict(connections[alias].settings_dict) for alias in aliases}
    for alias, where in aliases.items():
        connections[alias].close()
        connections[alias].settings_dict.update(where)
    try:
        yield
    finally:
        for alias, settings_dict in saved.items():
            connections[alias].close()
            connections[alias].settings_dict.clear()
            connections[alias].settings_dict.update(settings_dict)


def test_public_reads_go_to_the_streaming_replica_and_a_writer_reads_their_write_on_the_primary(
    primary_and_standby, client_for, settings
):
    primary, standby = primary_and_standby
    assert standby.sql("SELECT pg_is_in_recovery()") == (True,)
    settings.DATABASE_REPLICAS = ["replica1"]
    settings.DATABASE_READ_YOUR_WRITES_S = 60

    with databases_at(default=primary.settings_dict(), replica1=standby.settings_dict()):
        creator, viewer = UserFactory(), UserFactory()
        video = VideoFactory(owner=creator, caption="first words")
        standby.caught_up_with(primary)
        # A row written on the primary, on the replica.
        assert standby.sql("SELECT caption FROM videos_video WHERE id = %s", video.id) == ("first words",)

        def captions(user) -> list[str]:
            response = client_for(user).get(f"/api/v1/creators/{creator.handle}/videos")
            assert response.status_code == 200, response.content
            return [item["caption"] for item in response.json()["results"]]

        assert captions(viewer) == ["first words"]

        standby.sql("SELECT pg_wal_replay_pause()")  # the replica lags from here
        edited = client_for(creator).patch(f"/api/v1/videos/{video.id}", {"caption": "second thoughts"}, format="json")
        assert edited.status_code == 200, edited.content

        # The writer sees their edit at once (the primary); anyone else, for now, what the replica has.
        assert captions(creator) == ["second thoughts"]
        assert captions(viewer) == ["first words"]
        assert client_for(viewer).get(f"/api/v1/videos/{video.id}").json()["caption"] == "first words"

        standby.sql("SELECT pg_wal_replay_resume()")
        standby.caught_up_with(primary)
        assert captions(viewer) == ["second thoughts"]
