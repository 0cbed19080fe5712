"""After rendering: renditions, watermark and provenance, then the draft video (consent checked once more)."""

from __future__ import annotations

import logging
import shutil

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from backend.cameos import services as cameo_services
from backend.core import storage
from backend.rights import services as rights_services
from backend.videos import services as video_services
from media import postprocessing, workdirs
from media.models import RenderJob
from media.services.jobs import (
    JobCancelled,
    job_consent_recheck,
    job_finish,
    job_heartbeat,
    job_running_update,
    job_stage_timed,
    render_job_fail,
)
from media.services.lifecycle import render_work_dirs_sweep

logger = logging.getLogger(__name__)


@transaction.atomic
def _claim_post_processing(job_id: str) -> RenderJob | None:
    job = RenderJob.objects.select_for_update().filter(id=job_id).first()
    if job is None or job.status != RenderJob.Status.RUNNING or job.stage != RenderJob.Stage.AWAITING_POST_PROCESSING:
        return None
    job.stage = RenderJob.Stage.POST_PROCESSING
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["stage", "heartbeat_at"])
    return job


def render_job_postprocess(*, job_id: str) -> None:
    """Probe, transcode, watermark, sign and fingerprint; then create the draft (media queue)."""
    job = _claim_post_processing(job_id)
    if job is None:
        logger.info("render %s: post-processing not due", job_id)
        return
    render_work_dirs_sweep()  # this host's leftovers, wherever the reaper runs
    workdir = workdirs.work_dir_make(kind="post", job_id=job.id)
    published: list[str] = []
    try:
        with job_heartbeat(job):
            with job_stage_timed(job, "post_processing"):
                original = storage.download(storage.private(), job.original, workdir / "original.mp4")
                outputs = postprocessing.process(job=job, original=original, workdir=workdir)
            job_running_update(job, progress=95, stage_seconds=job.stage_seconds)
            job_consent_recheck(job)
            with job_stage_timed(job, "publishing"):
                published = postprocessing.publish(job=job, outputs=outputs)
            if not _complete(job, outputs=outputs, published=published):
                raise JobCancelled()
    except JobCancelled:
        for name in published:
            storage.private().delete(name)
        storage.private().delete(job.original)
    except postprocessing.BadProviderOutput as error:
        for name in published:
            storage.private().delete(name)
        render_job_fail(job_id=job.id, code="provider_bad_output", message=str(error))
    except Exception:
        # A bug or a broken dependency: fail the job rather than re-queue it forever.
        for name in published:
            storage.private().delete(name)
        render_job_fail(job_id=job.id, code="post_processing_failed", message=gettext_noop("Post-processing failed."))
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@transaction.atomic
def _complete(job: RenderJob, *, outputs, published: list[str]) -> bool:
    locked = RenderJob.objects.select_for_update().get(id=job.id)
    if locked.status != RenderJob.Status.RUNNING:
        raise JobCancelled()
    try:
        video = video_services.video_create_draft(
            owner=job.requester,
            prompt=job.prompt,
            parent=job.source_video,
            embedded_sources=[job.reference_video] if job.reference_video_id else [],
            media=outputs.video_fields(),
        )
    except video_services.SourceUnavailable:
        # Kept (not rolled back with an exception): the job ends cancelled, its files go.
        job_finish(
            locked,
            RenderJob.Status.CANCELLED,
            code="source_unavailable",
            message=gettext_noop("A source is no longer shown."),
        )
        return False
    for cameo in job.cameos.all():
        cameo_services.appearance_record(cameo=cameo, video=video)
    rights_services.video_characters_record(video=video, characters=list(job.characters.all()))
    postprocessing.fingerprint_store(video=video, hashes=outputs.fingerprint)
    locked.result_video = video
    locked.progress = 100
    locked.stage = RenderJob.Stage.DONE
    locked.stage_seconds = job.stage_seconds
    locked.save(update_fields=["result_video", "progress", "stage", "stage_seconds"])
    job_finish(locked, RenderJob.Status.SUCCEEDED)
    return True
