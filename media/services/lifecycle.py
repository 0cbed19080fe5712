"""A job's life outside the happy path: cancel, re-check after consent or policy changes, reap, retry."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import Cameo
from backend.core import outbox, storage
from backend.core.errors import Conflict
from backend.core.http import ProviderPermanentError
from media import tasks, workdirs
from media.models import RenderJob
from media.providers import get_provider
from media.services.jobs import (
    cameo_withdrawn,
    heartbeat_deadline,
    job_finish,
    job_provider_job_abandon,
    render_job_cancel,
)

logger = logging.getLogger(__name__)


def _cancel_unless_finished(job: RenderJob, *, reason: str, message: str) -> bool:
    try:
        render_job_cancel(job=job, reason=reason, message=message)
    except Conflict:
        return False  # finished in the meantime
    return True


def render_jobs_recheck_cameo(*, cameo_id: int) -> int:
    """After a consent change: cancel every active job whose requester lost the cameo."""
    jobs = RenderJob.objects.filter(cameos__id=cameo_id, status__in=RenderJob.ACTIVE).select_related("requester")
    cameo = Cameo.objects.select_related("owner").get(id=cameo_id)
    cancelled = 0
    for job in jobs:
        permission = cameo_selectors.cameo_permission(user=job.requester, cameo=cameo)
        if not permission.allowed:
            cancelled += _cancel_unless_finished(job, reason="consent_withdrawn", message=cameo_withdrawn(cameo_id))
    return cancelled


def render_jobs_cancel_of_requester(*, requester_id: int, reason: str, message: str) -> int:
    """Every active job of one requester stops (their account is being deleted)."""
    jobs = RenderJob.objects.filter(requester_id=requester_id, status__in=RenderJob.ACTIVE)
    return sum(_cancel_unless_finished(job, reason=reason, message=message) for job in jobs.order_by("id"))


def render_jobs_cancel_with_character(*, character_id: int, requester_id: int | None = None) -> int:
    """The holder withdrew a character (for everyone, or for one requester): its active jobs stop."""
    jobs = RenderJob.objects.filter(characters__id=character_id, status__in=RenderJob.ACTIVE)
    if requester_id is not None:
        jobs = jobs.filter(requester_id=requester_id)
    message = gettext_noop("The rights holder withdrew permission.")
    return sum(
        _cancel_unless_finished(job, reason="character_not_allowed", message=message) for job in jobs.order_by("id")
    )


def render_jobs_reap() -> dict[str, int]:
    """Re-queue jobs whose worker died (stale heartbeat); fail them after the last attempt."""
    counts = {"requeued": 0, "failed": 0}
    stale = RenderJob.objects.filter(status=RenderJob.Status.RUNNING, heartbeat_at__lt=heartbeat_deadline())
    for job_id in stale.values_list("id", flat=True):
        with transaction.atomic():
            job = RenderJob.objects.select_for_update(skip_locked=True).filter(id=job_id).first()
            if job is None or job.status != RenderJob.Status.RUNNING or job.heartbeat_at >= heartbeat_deadline():
                continue
            if job.stage in (RenderJob.Stage.POST_PROCESSING, RenderJob.Stage.AWAITING_POST_PROCESSING):
                job.stage = RenderJob.Stage.AWAITING_POST_PROCESSING
                job.heartbeat_at = timezone.now()  # not re-sent again before another timeout
                job.save(update_fields=["stage", "heartbeat_at"])
                outbox.enqueue(tasks.render_job_postprocess, job_id=str(job.id))
                counts["requeued"] += 1
            elif job.attempts >= settings.RENDER_MAX_ATTEMPTS:
                job_provider_job_abandon(job)
                job_finish(
                    job, RenderJob.Status.FAILED, code="worker_lost", message=gettext_noop("The render worker stopped.")
                )
                counts["failed"] += 1
            else:
                job.status = RenderJob.Status.QUEUED
                job.stage = RenderJob.Stage.REQUEUED_AFTER_WORKER_LOSS
                job.heartbeat_at = None
                job.save(update_fields=["status", "stage", "heartbeat_at"])
                outbox.enqueue(tasks.render_job_execute, job_id=str(job.id))
                counts["requeued"] += 1
    counts["resent"] = _resend_lost_queued_jobs()
    render_work_dirs_sweep()
    return counts


def render_provider_job_cancel(*, provider: str, provider_job_id: str) -> None:
    """Stop a provider job no attempt will poll again. A provider that is away raises (the task retries);
    one that refuses (the job is long finished, or unknown to it) is only logged."""
    try:
        get_provider(provider).cancel(provider_job_id)
    except ProviderPermanentError:
        logger.warning("%s job %s: not cancelled", provider, provider_job_id, exc_info=True)


def render_work_dirs_sweep() -> int:
    """Remove the work folders killed workers left on this host; returns how many went.

    A folder goes once it is older than the heartbeat timeout and its job is not running with a
    fresh heartbeat: finished, queued again, or given up by its worker (the reaper's own verdict).
    A live job keeps all its folders, even one an earlier attempt left, until it stops running.
    """
    left = workdirs.work_dirs_by_job(older_than_s=settings.RENDER_HEARTBEAT_TIMEOUT_S)
    if not left:
        return 0
    live = RenderJob.objects.filter(
        id__in=list(left), status=RenderJob.Status.RUNNING, heartbeat_at__gte=heartbeat_deadline()
    ).values_list("id", flat=True)
    live_ids = {str(job_id) for job_id in live}
    removed = 0
    for job_id, folders in left.items():
        if job_id in live_ids:
            continue
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d work folders left by stopped workers", removed)
    return removed


def _resend_lost_queued_jobs() -> int:
    """Queued jobs nobody claimed for a long time (their message was lost): send them again.

    A duplicate message is harmless: the claim takes a job once.
    """
    since = timezone.now() - timedelta(seconds=settings.RENDER_QUEUED_RESEND_S)
    lost = RenderJob.objects.filter(status=RenderJob.Status.QUEUED).filter(
        Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True, created_at__lt=since)
    )
    resent = 0
    for job_id in lost.values_list("id", flat=True):
        with transaction.atomic():
            job = (
                RenderJob.objects.select_for_update(skip_locked=True)
                .filter(id=job_id, status=RenderJob.Status.QUEUED)
                .first()
            )
            if job is None:
                continue
            job.heartbeat_at = timezone.now()  # marks when it was last sent
            job.save(update_fields=["heartbeat_at"])
            outbox.enqueue(tasks.render_job_execute, job_id=str(job.id))
            resent += 1
    return resent


@transaction.atomic
def render_job_retry(*, job: RenderJob) -> RenderJob:
    """Admin action: run a failed or cancelled job again, from the start (the old original goes).

    From the start means a new provider job too: a person asked for it, knowing it is billed again.
    """
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status not in (RenderJob.Status.FAILED, RenderJob.Status.CANCELLED):
        raise Conflict(_("Only failed or cancelled renders can be retried."), code="render_not_retryable")
    if job.original:
        old_original = job.original
        job.original = ""
        transaction.on_commit(lambda: storage.private().delete(old_original))
    job.status = RenderJob.Status.QUEUED
    job.stage = RenderJob.Stage.RETRY_REQUESTED
    job.attempts = 0
    job.provider_job_id = ""
    job.set_error(code="", message="")
    job.finished_at = None
    job.save(update_fields=["status", "stage", "attempts", "provider_job_id", *RenderJob.ERROR_FIELDS,
                            "finished_at", "original"])  # fmt: skip
    outbox.enqueue(tasks.render_job_execute, job_id=str(job.id))
    return job


def render_jobs_erase(*, requester_id: int) -> int:
    """A purged account's render jobs keep their state (quotas, audit) but nothing of what was asked: prompts,
    directions and stored files (originals, reference images) go; how many files went. Idempotent."""
    erased = 0
    for job_id in RenderJob.objects.filter(requester_id=requester_id).values_list("id", flat=True):
        erased += storage.delete_under(storage.private(), f"renders/{job_id}")
    RenderJob.objects.filter(requester_id=requester_id).update(
        prompt="", directions=[], original="", reference_image="", error_message="", error_message_source={}
    )
    return erased
