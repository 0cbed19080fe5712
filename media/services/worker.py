"""The worker's part: claim a queued job, render it with the provider, store the original."""

from __future__ import annotations

import logging
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from backend.core import metrics, outbox, storage
from backend.core.http import ProviderPermanentError, ProviderTransientError
from media import tasks, workdirs
from media.models import RenderJob
from media.providers import get_provider
from media.providers.base import ProviderJob, RenderSpec
from media.services.jobs import (
    JobCancelled,
    job_consent_recheck,
    job_finish,
    job_heartbeat,
    job_provider_job_abandon,
    job_reference_names,
    job_render_spec,
    job_running_update,
    job_stage_timed,
    render_job_fail,
)
from media.services.lifecycle import render_work_dirs_sweep

logger = logging.getLogger(__name__)


@transaction.atomic
def render_job_claim(*, job_id: str) -> RenderJob | None:
    """Take a queued job for this worker; None when someone else has it or it is done."""
    job = RenderJob.objects.select_for_update().filter(id=job_id).first()
    if job is None or job.status != RenderJob.Status.QUEUED:
        return None
    now = timezone.now()
    job.status = RenderJob.Status.RUNNING
    job.stage = RenderJob.Stage.STARTING
    job.attempts += 1
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.stage_seconds = {}
    job.save(update_fields=["status", "stage", "attempts", "started_at", "heartbeat_at", "stage_seconds"])
    return job


@contextmanager
def _stage(job: RenderJob, name: RenderJob.Stage, progress: int):
    job_running_update(job, stage=name, progress=progress)
    with job_stage_timed(job, name):
        yield
    job_running_update(job, stage_seconds=job.stage_seconds)


def _render_spec(job: RenderJob, workdir: Path) -> RenderSpec:
    """The spec with its files downloaded into ``workdir``."""
    references = [
        storage.download(storage.private(), name, workdir / f"reference-{index}{Path(name).suffix}")
        for index, name in enumerate(job_reference_names(job, cameos=job.cameos.all()))
    ]
    source = None
    if job.source_video is not None and job.source_video.mp4:
        source_store = storage.store_for(public_media=job.source_video.media_public)
        source = storage.download(source_store, job.source_video.mp4, workdir / "source.mp4")
    return job_render_spec(job, reference_images=references, source_video=source)


def _provider_job_store(job: RenderJob, provider_job_id: str) -> None:
    """Committed at once (no transaction is open here), before anything else can fail, and kept while
    the job is queued again: whichever attempt runs next polls this provider job instead of submitting
    (and paying for) another."""
    RenderJob.objects.filter(id=job.id, status__in=RenderJob.ACTIVE).update(provider_job_id=provider_job_id)
    job.provider_job_id = provider_job_id


def _wait_for_provider(job: RenderJob, provider, provider_job: ProviderJob) -> ProviderJob:
    while provider_job.state in ("queued", "running"):
        time.sleep(settings.RENDER_POLL_INTERVAL_S)
        try:
            provider_job = provider.poll(provider_job.provider_job_id)
        except ProviderPermanentError as error:
            if error.status != 404:
                raise
            # Submitting again could render (and bill) twice; a person decides (the admin's retry).
            raise ProviderPermanentError(
                f"{provider.name} no longer knows render {provider_job.provider_job_id}; it was not submitted again.",
                code="provider_job_lost",
            ) from error
        job_running_update(job, progress=min(80, 10 + provider_job.progress * 70 // 100))
    return provider_job


def render_job_execute(*, job_id: str) -> None:
    """Render a queued job with its provider and store the original (renders queue).

    A job an earlier attempt already submitted (its worker died, or a transient error came while
    polling) is resumed: its provider job is polled, never submitted again.
    """
    job = render_job_claim(job_id=job_id)
    if job is None:
        logger.info("render %s: nothing to do (already claimed or finished)", job_id)
        return
    provider = get_provider(job.provider)
    render_work_dirs_sweep()  # this host's leftovers, wherever the reaper runs
    workdir = workdirs.work_dir_make(kind="render", job_id=job.id)
    provider_job_id = job.provider_job_id
    stored_original = ""
    try:
        with job_heartbeat(job):
            job_consent_recheck(job)
            with _stage(job, RenderJob.Stage.RENDERING, progress=10):
                if provider_job_id:
                    logger.info("render %s: resuming provider job %s", job.id, provider_job_id)
                    provider_job = ProviderJob(provider_job_id, "running")
                else:
                    spec = _render_spec(job, workdir)
                    provider.validate(spec)  # the provider's limits may have changed since the request
                    provider_job = provider.submit(spec, key=str(job.id))
                    provider_job_id = provider_job.provider_job_id
                    _provider_job_store(job, provider_job_id)
                    job_running_update(job)  # and stop here if the job was cancelled meanwhile
                provider_job = _wait_for_provider(job, provider, provider_job)
            if provider_job.state != "succeeded":
                raise ProviderPermanentError(
                    provider_job.error_message or "The provider did not finish the render.",
                    code=provider_job.error_code or "provider_failed",
                )
            with _stage(job, RenderJob.Stage.DOWNLOADING, progress=80):
                result = provider.fetch_result(provider_job_id, workdir / "original.mp4")
            job_consent_recheck(job)
            with _stage(job, RenderJob.Stage.STORING, progress=85):
                with open(result, "rb") as handle:
                    stored_original = storage.private().save(f"renders/{job.id}/original.mp4", File(handle))
                # The post-processing message is written with the stage that awaits it (the outbox).
                with transaction.atomic():
                    job_running_update(job, original=stored_original, stage=RenderJob.Stage.AWAITING_POST_PROCESSING)
                    outbox.enqueue(tasks.render_job_postprocess, job_id=str(job.id))
    except JobCancelled:
        _after_cancel(job, provider, provider_job_id, [stored_original])
        return
    except ProviderTransientError as error:
        metrics.PROVIDER_ERRORS.labels(job.provider, error.code, "true").inc()
        if stored_original:
            storage.private().delete(stored_original)
        if _requeue_or_fail(job, error):
            raise
        return
    except ProviderPermanentError as error:
        metrics.PROVIDER_ERRORS.labels(job.provider, error.code, "false").inc()
        render_job_fail(job_id=job.id, code=error.code, message=str(error), attempt=job.attempts)
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _after_cancel(job: RenderJob, provider, provider_job_id: str, stored: list[str]) -> None:
    # A job queued again meanwhile, or running again (the reaper took it from this worker, which it
    # believed dead), resumes the provider job: only a job that ended has no use for it.
    taken_over = RenderJob.objects.filter(id=job.id, status__in=RenderJob.ACTIVE).exists()
    if provider_job_id and not taken_over:
        try:
            provider.cancel(provider_job_id)
        except (ProviderTransientError, ProviderPermanentError):
            logger.warning("render %s: provider cancel failed", job.id, exc_info=True)
    for name in stored:
        if name:
            storage.private().delete(name)
    logger.info("render %s cancelled at stage %s", job.id, job.stage)


@transaction.atomic
def _requeue_or_fail(job: RenderJob, error: ProviderTransientError) -> bool:
    """Put the job back for a retry; True if the caller should retry, False if it failed."""
    attempt = job.attempts
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status != RenderJob.Status.RUNNING or job.attempts != attempt:
        return False
    if job.attempts >= settings.RENDER_MAX_ATTEMPTS:
        job_provider_job_abandon(job)
        job_finish(job, RenderJob.Status.FAILED, code="provider_unavailable", message=str(error))
        return False
    job.status = RenderJob.Status.QUEUED
    job.stage = RenderJob.Stage.WAITING_TO_RETRY
    job.set_error(code=getattr(error, "code", "provider_transient_error"), message=str(error))
    job.heartbeat_at = None
    job.save(update_fields=["status", "stage", *RenderJob.ERROR_FIELDS, "heartbeat_at"])
    return True
