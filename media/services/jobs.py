"""What every step of a render shares: the job's running state, its heartbeat deadline, the consent
re-check, and how it finishes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import Cameo
from backend.core import metrics, outbox
from backend.core.errors import Conflict, DomainError
from backend.core.i18n import Translatable
from backend.rights import selectors as rights_selectors
from backend.videos import services as video_services
from backend.videos.models import Video
from media import events, tasks
from media.models import RenderJob
from media.providers.base import RenderSpec

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a worker when the job was cancelled at a stage boundary."""


def heartbeat_deadline() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=settings.RENDER_HEARTBEAT_TIMEOUT_S)


def _this_attempt(job: RenderJob):
    """The job while this attempt runs it: not once the reaper gave it to another worker (a worker it
    took for dead may be alive, and must stop at its next step without touching the new attempt)."""
    return RenderJob.objects.filter(id=job.id, status=RenderJob.Status.RUNNING, attempts=job.attempts)


def job_running_update(job: RenderJob, **fields) -> None:
    """Record progress; raises JobCancelled when this attempt stopped running meanwhile."""
    fields["heartbeat_at"] = timezone.now()
    updated = _this_attempt(job).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    if not updated:
        raise JobCancelled()


def job_reference_names(job: RenderJob, *, cameos: Iterable[Cameo]) -> list[str]:
    """Private-storage names of the images the provider gets: the cameos' references, then the upload."""
    names = [name for cameo in cameos for name in cameo.reference_image_names()]
    return names + ([job.reference_image] if job.reference_image else [])


def job_render_spec(job: RenderJob, *, reference_images: list[Path], source_video: Path | None) -> RenderSpec:
    """What the provider is asked to render. The worker passes the downloaded files; a request, checked
    against the provider before the job exists, passes their names (``Provider.validate`` reads no file)."""
    width, height = job.dimensions
    return RenderSpec(
        prompt=job.prompt,
        duration_s=job.duration_s,
        aspect=job.aspect,
        width=width,
        height=height,
        reference_images=reference_images,
        source_video=source_video,
        directions=list(job.directions),
        seed=int(job.id.int % 2**31),
        caption=f"@{job.requester.handle}",
    )


def job_consent_recheck(job: RenderJob) -> None:
    """Cameo consent, character policies and the videos it embeds, again, from the database."""
    for source in Video.objects.filter(id__in=[job.source_video_id, job.reference_video_id]):
        if not video_services.source_holds(
            source=source, owner_id=job.requester_id, visibility=Video.Visibility.PRIVATE
        ):
            render_job_cancel(
                job=job,
                reason="source_unavailable",
                message=Translatable("Video %(id)s is no longer shown.", id=source.id),
            )
            raise JobCancelled()
    for cameo in job.cameos.select_related("owner"):
        permission = cameo_selectors.cameo_permission(user=job.requester, cameo=cameo)
        if not permission.allowed:
            render_job_cancel(job=job, reason="consent_withdrawn", message=cameo_withdrawn(cameo.id))
            raise JobCancelled()
    try:
        rights_selectors.character_policy_check(
            user=job.requester, characters=list(job.characters.select_related("holder")), source_video=job.source_video
        )
    except DomainError as refusal:
        render_job_cancel(job=job, reason=refusal.detail.code, message=refusal.message)
        raise JobCancelled() from refusal


def cameo_withdrawn(cameo_id: int) -> Translatable:
    return Translatable("The owner of cameo %(id)s does not allow you to use it any more.", id=cameo_id)


def job_provider_job_abandon(job: RenderJob) -> None:
    """Caller holds the row lock and ends a job no worker is polling (queued for a retry, or its worker
    died): its provider job is stopped after the commit, or it renders (and bills) on."""
    if job.provider_job_id:
        outbox.enqueue(tasks.render_provider_job_cancel, provider=job.provider, provider_job_id=job.provider_job_id)


def job_finish(job: RenderJob, status: str, *, code: str = "", message: str = "") -> None:
    """Caller holds the row lock. ``message`` as ``RenderJob.set_error`` takes it."""
    job.status = status
    job.set_error(code=code, message=message)
    job.finished_at = timezone.now()
    job.heartbeat_at = None
    job.save(update_fields=["status", *RenderJob.ERROR_FIELDS, "finished_at", "heartbeat_at"])
    events.render_finished.send_on_commit(job_id=str(job.id), status=status)
    outcome = metrics.RENDERS_FINISHED.labels(provider=job.provider, status=status, code=code)
    transaction.on_commit(outcome.inc)


@contextmanager
def job_stage_timed(job: RenderJob, stage: str):
    """Time a stage of the job into ``job.stage_seconds`` (the caller saves it) and /metrics; a stage
    that raised is not recorded."""
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    job.stage_seconds[stage] = round(seconds, 3)
    metrics.RENDER_STAGE_SECONDS.labels(provider=job.provider, stage=stage).observe(seconds)


@contextmanager
def job_heartbeat(job: RenderJob):
    """Keep this attempt's heartbeat fresh while a long stage blocks this thread.

    A database outage skips beats, it does not end them: the heartbeat resumes when PostgreSQL is
    back, or the reaper, seeing it stale, gives the job to another worker.
    """
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.RENDER_HEARTBEAT_INTERVAL_S):
                try:
                    _this_attempt(job).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    logger.warning("render %s: heartbeat skipped, the database is unavailable", job.id)
                    connection.close()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@transaction.atomic
def render_job_cancel(*, job: RenderJob, reason: str = "cancelled_by_user", message: str = "") -> RenderJob:
    """Stop a job: at once when queued, at the worker's next stage boundary when running."""
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status == RenderJob.Status.CANCELLED:
        return job
    if job.is_finished:
        raise Conflict(_("This render has already finished."), code="render_finished")
    if job.status == RenderJob.Status.QUEUED:
        job_provider_job_abandon(job)  # a running job's worker cancels its own at the next stage
    job_finish(job, RenderJob.Status.CANCELLED, code=reason, message=message or reason.replace("_", " "))
    return job


@transaction.atomic
def render_job_fail(*, job_id, code: str, message: str, attempt: int | None = None) -> None:
    """Fail an active job; with ``attempt``, only while that attempt is the one running it."""
    job = RenderJob.objects.select_for_update().get(id=job_id)
    if job.status in RenderJob.ACTIVE and attempt in (None, job.attempts):
        job_finish(job, RenderJob.Status.FAILED, code=code, message=message)
