"""Every media task, run twice: the second run finds nothing left to do and changes nothing.

The tasks are called as functions (as a worker would run a redelivered message), not through the broker.
"""

from datetime import timedelta

import pytest
from celery import current_app
from celery.exceptions import Retry
from django.utils import timezone

from backend.core.http import ProviderTransientError
from backend.videos.models import Video
from media import tasks
from tests.factories import RenderJobFactory
from tests.media.conftest import private_files
from tests.media.test_video_files import assert_files_in, draft_with_files

pytestmark = pytest.mark.django_db


def job_state(job) -> tuple:
    job.refresh_from_db()
    return (job.status, job.stage, job.progress, job.attempts, job.error_code, job.original, job.result_video_id)


def test_render_job_execute_twice_renders_and_stores_once(provider, sent, django_capture_on_commit_callbacks):
    job = RenderJobFactory(provider="clip")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_job_execute(job_id=str(job.id))
    after_first = job_state(job)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_job_execute(job_id=str(job.id))
    assert job_state(job) == after_first
    assert after_first[:2] == ("running", "awaiting_post_processing")
    assert private_files(job) == ["original.mp4"]
    assert provider.calls == ["submit", "fetch_result"]
    assert sent["postprocess"] == [{"job_id": str(job.id)}]


@pytest.mark.parametrize(("retry_after", "countdowns"), [(37.0, {37.0}), (None, {0, 1, 2})])
def test_render_job_execute_retries_when_the_provider_said_or_else_with_backoff(
    provider, sent, monkeypatch, settings, retry_after, countdowns
):
    provider.fail_with = ProviderTransientError("slow down", code="provider_rate_limited", retry_after=retry_after)
    job = RenderJobFactory(provider="clip")
    retries = []

    def retry(**options):
        retries.append(options)
        return Retry(exc=options.get("exc"), when=options.get("countdown"))

    monkeypatch.setattr(tasks.render_job_execute, "retry", retry)
    with pytest.raises(Retry):
        tasks.render_job_execute(job_id=str(job.id))
    # The job waits for the countdown in the queue; the service counted the attempt.
    assert (job_state(job)[:2], job.attempts) == (("queued", "waiting_to_retry"), 1)
    [options] = retries
    assert options["countdown"] in countdowns  # without RetryInfo: backoff with full jitter, at most the max
    assert settings.RENDER_RETRY_BACKOFF_MAX_S == 2


def test_render_provider_job_cancel_twice_asks_the_provider_twice_harmlessly(provider):
    tasks.render_provider_job_cancel(provider="clip", provider_job_id="op-1")
    tasks.render_provider_job_cancel(provider="clip", provider_job_id="op-1")
    assert provider.calls == ["cancel op-1", "cancel op-1"]


def test_render_job_postprocess_twice_makes_one_draft(provider, sent):
    job = RenderJobFactory(provider="clip")
    tasks.render_job_execute(job_id=str(job.id))
    tasks.render_job_postprocess(job_id=str(job.id))
    after_first = job_state(job)
    files = private_files(job)
    tasks.render_job_postprocess(job_id=str(job.id))
    assert job_state(job) == after_first
    assert after_first[:3] == ("succeeded", "done", 100)
    assert private_files(job) == files
    assert list(Video.objects.values_list("id", flat=True)) == [job.result_video_id]


def test_render_jobs_reap_twice_requeues_a_lost_render_once(settings, sent, django_capture_on_commit_callbacks):
    stale = timezone.now() - timedelta(seconds=settings.RENDER_HEARTBEAT_TIMEOUT_S + 1)
    job = RenderJobFactory(status="running", stage="rendering", attempts=1, heartbeat_at=stale)
    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.render_jobs_reap()
    after_first = job_state(job)
    with django_capture_on_commit_callbacks(execute=True):
        second = tasks.render_jobs_reap()
    assert (first, second) == ({"requeued": 1, "failed": 0, "resent": 0}, {"requeued": 0, "failed": 0, "resent": 0})
    assert job_state(job) == after_first
    assert after_first[:2] == ("queued", "requeued_after_worker_loss")
    assert sent["render"] == [{"job_id": str(job.id)}]


def misplaced_post() -> Video:
    """A post shown to everyone whose files are still in the private store (a lost sync message)."""
    return draft_with_files(status="published", visibility="public", published_at=timezone.now())


def test_video_files_sync_many_twice_moves_the_files_once():
    video = misplaced_post()
    assert_files_in(video, "private")
    tasks.video_files_sync_many(video_ids=[video.id])
    assert_files_in(video, "public")
    tasks.video_files_sync_many(video_ids=[video.id])
    assert_files_in(video, "public")


def test_video_files_repair_twice_moves_the_files_once():
    video = misplaced_post()
    assert_files_in(video, "private")
    tasks.video_files_repair()
    assert_files_in(video, "public")
    tasks.video_files_repair()
    assert_files_in(video, "public")


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("media.render_job_execute", "renders"),
        ("media.render_job_postprocess", "media"),
        ("media.render_provider_job_cancel", "renders"),
        ("media.video_files_sync_many", "media"),
        # Maintenance runs beside feeds, never behind a queue of renders.
        ("media.render_jobs_reap", "default"),
        ("media.video_files_repair", "default"),
        ("feeds.feed_refill", "feeds"),
        ("feeds.counters_flush", "feeds"),
    ],
)
def test_each_task_goes_to_its_queue(task, queue):
    assert current_app.amqp.router.route({}, task)["queue"].name == queue
