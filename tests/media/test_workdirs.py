"""Work folders live under RENDER_WORK_ROOT, named for their job; the reaper sweeps what killed workers left."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from media import services, workdirs
from media.services.lifecycle import render_work_dirs_sweep
from tests.factories import RenderJobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def work_root(settings, tmp_path) -> Path:
    settings.RENDER_WORK_ROOT = tmp_path / "work"
    return settings.RENDER_WORK_ROOT


def left_behind(job, settings, kind: str = "render") -> Path:
    """A folder its worker never removed, untouched since well past the heartbeat timeout."""
    folder = workdirs.work_dir_make(kind=kind, job_id=job.id)
    (folder / "reference-0.png").write_bytes(b"x")
    old = time.time() - settings.RENDER_HEARTBEAT_TIMEOUT_S - 60
    os.utime(folder, (old, old))
    return folder


def stale(settings):
    return timezone.now() - timedelta(seconds=settings.RENDER_HEARTBEAT_TIMEOUT_S + 1)


def test_a_work_folder_is_named_for_its_job_under_the_root(work_root):
    job = RenderJobFactory()
    folder = workdirs.work_dir_make(kind="post", job_id=job.id)
    assert folder.parent == work_root
    assert folder.name.startswith(f"post-{job.id}-")
    assert folder.is_dir() and not any(folder.iterdir())


class TestSweep:
    def test_a_finished_jobs_folder_is_removed(self, settings):
        job = RenderJobFactory(status="succeeded")
        render, post = left_behind(job, settings), left_behind(job, settings, kind="post")
        assert render_work_dirs_sweep() == 2
        assert not render.exists() and not post.exists()

    def test_a_running_jobs_folder_is_kept_while_its_heartbeat_is_fresh(self, settings):
        job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=timezone.now())
        folder = left_behind(job, settings)
        assert render_work_dirs_sweep() == 0
        assert folder.exists()

    def test_a_fresh_folder_is_kept_whatever_its_job(self, settings):
        job = RenderJobFactory(status="succeeded")
        folder = workdirs.work_dir_make(kind="render", job_id=job.id)
        assert render_work_dirs_sweep() == 0
        assert folder.exists()

    def test_folders_of_queued_and_vanished_jobs_go_and_strangers_stay(self, settings, work_root):
        queued = RenderJobFactory(status="queued")
        vanished = RenderJobFactory(status="failed")
        folders = [left_behind(queued, settings), left_behind(vanished, settings)]
        vanished.delete()
        stranger = work_root / "someone-elses"
        stranger.mkdir()
        os.utime(stranger, (0, 0))
        assert render_work_dirs_sweep() == 2
        assert not any(folder.exists() for folder in folders)
        assert stranger.exists()

    def test_the_reaper_sweeps_the_folder_of_the_job_whose_worker_died(self, settings):
        job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=stale(settings))
        live = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=timezone.now())
        dead_folder, live_folder = left_behind(job, settings), left_behind(live, settings)
        services.render_jobs_reap()
        assert not dead_folder.exists()
        assert live_folder.exists()
        services.render_jobs_reap()  # twice: nothing more to do, nothing breaks
        assert live_folder.exists()
