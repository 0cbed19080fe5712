"""The render pipeline: request, claim, render, post-process, cancel, reap.

A job moves queued → running → succeeded | failed | cancelled. Every step
locks the job row and checks its state first, so a message delivered twice,
a worker killed halfway or a reaper running at the same moment never renders
a job twice nor stores its result twice. Consent is checked when the job is
requested, when a worker starts it, before the provider's result is stored,
and again before the draft video is created.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from backend.cameos import selectors as cameo_selectors
from backend.cameos import services as cameo_services
from backend.cameos.models import Cameo
from backend.core import storage
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.http import ProviderPermanentError, ProviderTransientError
from backend.core.permissions import require_not_suspended
from backend.creators.models import User
from backend.moderation import selectors as moderation_selectors
from backend.moderation.providers import prompt_moderation
from backend.rights import selectors as rights_selectors
from backend.rights import services as rights_services
from backend.videos import services as video_services
from backend.videos.models import Video
from media import postprocessing, provenance_lookup, selectors, tasks
from media.models import RenderJob
from media.providers import get_provider
from media.providers.base import ProviderJob, RenderSpec

logger = logging.getLogger(__name__)


class RenderRefused(DomainError):
    status_code = 403
    default_code = "render_refused"
    default_detail = "This render is not allowed."


class QuotaExceeded(DomainError):
    status_code = 429
    default_code = "quota_exceeded"
    default_detail = "You have reached a render limit."


class JobCancelled(Exception):
    """Raised inside a worker when the job was cancelled at a stage boundary."""


# --- Request ------------------------------------------------------------------


def _request_fingerprint(**fields) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_quotas(*, requester: User, duration_s: int) -> None:
    quotas = settings.TIER_QUOTAS[requester.tier]
    if duration_s > quotas["max_render_seconds"]:
        raise RenderRefused(
            f"Your tier renders at most {quotas['max_render_seconds']} seconds.",
            code="duration_over_tier_cap",
            details={"max_render_seconds": quotas["max_render_seconds"]},
        )
    jobs = RenderJob.objects.filter(requester=requester).exclude(status=RenderJob.Status.BLOCKED)
    if jobs.filter(status__in=RenderJob.ACTIVE).count() >= quotas["concurrent_renders"]:
        raise QuotaExceeded(
            "Wait for a render to finish before starting another.",
            code="concurrent_render_limit",
            details={"concurrent_renders": quotas["concurrent_renders"]},
        )
    if selectors.renders_used_today(user=requester) >= quotas["daily_renders"]:
        raise QuotaExceeded(
            "You have used today's renders.",
            code="daily_render_limit",
            details={"daily_renders": quotas["daily_renders"]},
        )


def _require_cameo_consent(*, user: User, cameos: list[Cameo]) -> None:
    for cameo in cameos:
        permission = cameo_selectors.cameo_permission(user=user, cameo=cameo)
        if not permission.allowed:
            raise RenderRefused(
                "You may not use this cameo.",
                code="cameo_not_allowed",
                details={"cameo_id": cameo.id, "reason": permission.reason},
            )


def _cameo_directions(cameos: list[Cameo]) -> list[str]:
    directions = []
    for cameo in cameos:
        if cameo.appearance_notes:
            directions.append(f"{cameo.display_name}: {cameo.appearance_notes}")
        if cameo.restrictions:
            directions.append(f"{cameo.display_name} must never appear: {cameo.restrictions}")
    return directions


def _carried_by(videos: list[Video]) -> tuple[set[int], set[int]]:
    """Cameo and character ids that travel with these videos' frames (their own carried ones included)."""
    ids = [video.id for video in videos]
    if not ids:
        return set(), set()
    cameos = set(Cameo.objects.filter(appearances__video_id__in=ids).values_list("id", flat=True))
    characters = set(rights_selectors.character_ids_in_videos(video_ids=ids))
    return cameos, characters


def _reference_video(*, requester: User, reference_image) -> Video | None:
    """The video made here that an uploaded reference shows (provenance index: frames, posters,
    thumbnails), if any. One that ``requester`` may not carry into a video of theirs is refused:
    someone else's that is not shown to everyone, or anything withdrawn or taken down."""
    match = provenance_lookup.match_upload(reference_image)
    if match is None:
        return None
    video = Video.objects.filter(id=match).first()
    if video is None:
        return None
    usable = video.owner_id == requester.id or video.is_visible_to(requester)
    if not usable or not video_services.source_holds(
        source=video, owner_id=requester.id, visibility=Video.Visibility.PRIVATE
    ):
        raise RenderRefused("This reference comes from a video you may not reuse.", code="reference_not_allowed")
    return video


def render_job_request(
    *,
    requester: User,
    idempotency_key: str,
    prompt: str,
    duration_s: int,
    aspect: str = RenderJob.Aspect.PORTRAIT,
    resolution: str = RenderJob.Resolution.HD,
    cameo_ids: list[int] | tuple = (),
    character_ids: list[int] | tuple = (),
    source_video: Video | None = None,
    reference_image=None,
) -> tuple[RenderJob, bool]:
    """Queue a render, or return the job an earlier call with the same key made.

    Returns ``(job, created)``. The same key with a different body is a 409.
    Refusals (quota, consent) raise and leave nothing behind; a prompt that
    policy refuses is kept as a ``blocked`` job for moderators, then raised.

    A likeness travels with its pixels: every cameo and character of the remixed source, and of a
    video made here that the reference image is recognised as, is part of the render, and the
    requester needs consent and policy for each, whatever the request lists.
    """
    require_not_suspended(requester, action="render")
    cameo_ids = sorted(set(cameo_ids))
    reference_digest = _file_digest(reference_image) if reference_image else ""
    fingerprint = _request_fingerprint(
        prompt=prompt,
        duration_s=duration_s,
        aspect=aspect,
        resolution=resolution,
        cameo_ids=cameo_ids,
        character_ids=sorted(set(character_ids)),
        source_video=source_video.id if source_video else None,
        reference=reference_digest,
    )
    existing = RenderJob.objects.filter(requester=requester, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, fingerprint), False
    reference_video = (
        _reference_video(requester=requester, reference_image=reference_image) if reference_image else None
    )
    embedded = [video for video in (source_video, reference_video) if video is not None]
    carried_cameo_ids, carried_character_ids = _carried_by(embedded)
    cameo_ids = sorted(set(cameo_ids) | carried_cameo_ids)
    character_ids = sorted(set(character_ids) | carried_character_ids)

    stored_reference = ""
    try:
        with transaction.atomic():
            # One render request per person at a time, so the caps cannot be raced.
            User.objects.select_for_update().filter(id=requester.id).first()
            cameos = list(Cameo.objects.filter(id__in=cameo_ids).select_related("owner"))
            if len(cameos) != len(cameo_ids):
                raise NotFound("No such cameo.", code="cameo_not_found")
            _require_cameo_consent(user=requester, cameos=cameos)
            characters = rights_selectors.characters_in(text=prompt, character_ids=character_ids)
            rights_selectors.character_policy_check(user=requester, characters=characters, source_video=source_video)
            _check_quotas(requester=requester, duration_s=duration_s)
            job = RenderJob(
                requester=requester,
                kind=RenderJob.Kind.REMIX if source_video else RenderJob.Kind.GENERATE,
                prompt=prompt,
                duration_s=duration_s,
                aspect=aspect,
                resolution=resolution,
                source_video=source_video,
                reference_video=reference_video,
                directions=_cameo_directions(cameos)
                + [f"{c.name} must never appear: {c.restrictions}" for c in characters if c.restrictions],
                provider=settings.RENDER_PROVIDER,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
            refusal, flags = _prompt_policy_refusal(requester=requester, prompt=prompt)
            job.moderation_flags = flags
            if refusal is not None:
                job.status = RenderJob.Status.BLOCKED
                job.error_code = refusal.detail.code
                job.error_message = str(refusal.detail)
                job.finished_at = timezone.now()
            if reference_image is not None and refusal is None:
                stored_reference = storage.private().save(f"renders/{job.id}/reference.jpg", reference_image)
                job.reference_image = stored_reference
            with transaction.atomic():
                job.save()
            job.cameos.set(cameos)
            job.characters.set(characters)
            if refusal is None:
                transaction.on_commit(lambda: tasks.render_job_execute.delay(job_id=str(job.id)))
    except IntegrityError:
        # A concurrent request with the same key won the insert.
        if stored_reference:
            storage.private().delete(stored_reference)
        existing = RenderJob.objects.get(requester=requester, idempotency_key=idempotency_key)
        return _replayed(existing, fingerprint), False
    except Exception as error:
        if stored_reference:
            storage.private().delete(stored_reference)
        if isinstance(error, DomainError) and error.detail.code == "character_needs_approval":
            rights_services.usage_approval_request(character_id=error.details["character_id"], user=requester)
        raise
    if job.status == RenderJob.Status.BLOCKED:
        raise refusal
    return job, True


def remix_request(*, requester: User, idempotency_key: str, source: Video, **render_fields) -> tuple[RenderJob, bool]:
    """A render whose result is a remix of ``source``: its frames go to the provider, so every cameo
    and character in it travels into the remix (the remixer needs their own permission for each).

    Others' videos may be remixed only while they are shown to everyone; one's own while published.
    """
    if not source.is_visible_to(requester):
        raise NotFound("No such video.")
    if not source.remix_allowed:
        raise RenderRefused("The owner turned remixing off for this video.", code="remix_disabled")
    if source.status != Video.Status.PUBLISHED or not video_services.source_holds(
        source=source, owner_id=requester.id, visibility=Video.Visibility.PRIVATE
    ):
        raise RenderRefused("Only public posts can be remixed (and your own posts).", code="remix_not_allowed")
    return render_job_request(
        requester=requester, idempotency_key=idempotency_key, source_video=source, **render_fields
    )


def _replayed(job: RenderJob, fingerprint: str) -> RenderJob:
    if job.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            code="idempotency_key_reused",
            details={"render_id": str(job.id)},
        )
    if job.status == RenderJob.Status.BLOCKED:
        raise RenderRefused(job.error_message, code=job.error_code, details={"render_id": str(job.id)})
    return job


def _prompt_policy_refusal(*, requester: User, prompt: str) -> tuple[DomainError | None, list[str]]:
    """The refusal (if any) and the categories a moderation model flagged for review."""
    try:
        cameo_selectors.prompt_likeness_check(user=requester, text=prompt)
        moderation_selectors.prompt_blocklist_check(text=prompt)
    except DomainError as refusal:
        return refusal, []
    verdict = prompt_moderation(prompt)
    if verdict.refuse:
        refusal = moderation_selectors.PromptRefused(
            "This prompt was refused by content moderation.", code="prompt_flagged",
            details={"categories": verdict.categories},
        )  # fmt: skip
        return refusal, verdict.categories
    return None, verdict.categories if verdict.flagged else []


def _file_digest(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


# --- Worker: claim and render -------------------------------------------------


def _heartbeat_deadline() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=settings.RENDER_HEARTBEAT_TIMEOUT_S)


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


def _update_running(job: RenderJob, **fields) -> None:
    """Record progress; raises JobCancelled when the job stopped running meanwhile."""
    fields["heartbeat_at"] = timezone.now()
    updated = RenderJob.objects.filter(id=job.id, status=RenderJob.Status.RUNNING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    if not updated:
        raise JobCancelled()


@contextmanager
def _stage(job: RenderJob, name: RenderJob.Stage, progress: int):
    _update_running(job, stage=name, progress=progress)
    started = time.monotonic()
    yield
    job.stage_seconds[name] = round(time.monotonic() - started, 3)
    _update_running(job, stage_seconds=job.stage_seconds)


@contextmanager
def _heartbeat(job_id):
    """Keep the job's heartbeat fresh while a long stage blocks this thread."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.RENDER_HEARTBEAT_INTERVAL_S):
                RenderJob.objects.filter(id=job_id, status=RenderJob.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            close_old_connections()
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _recheck_consent(job: RenderJob) -> None:
    """Cameo consent, character policies and the videos it embeds, again, from the database."""
    for source in Video.objects.filter(id__in=[job.source_video_id, job.reference_video_id]):
        if not video_services.source_holds(
            source=source, owner_id=job.requester_id, visibility=Video.Visibility.PRIVATE
        ):
            render_job_cancel(job=job, reason="source_unavailable", message=f"Video {source.id} is no longer shown.")
            raise JobCancelled()
    for cameo in job.cameos.select_related("owner"):
        permission = cameo_selectors.cameo_permission(user=job.requester, cameo=cameo)
        if not permission.allowed:
            render_job_cancel(job=job, reason="consent_withdrawn", message=f"Cameo {cameo.id}: {permission.reason}")
            raise JobCancelled()
    try:
        rights_selectors.character_policy_check(
            user=job.requester, characters=list(job.characters.select_related("holder")), source_video=job.source_video
        )
    except DomainError as refusal:
        render_job_cancel(job=job, reason=refusal.detail.code, message=str(refusal.detail))
        raise JobCancelled() from refusal


def _render_spec(job: RenderJob, workdir: Path) -> RenderSpec:
    references = []
    names = [name for cameo in job.cameos.all() for name in cameo.reference_image_names()]
    if job.reference_image:
        names.append(job.reference_image)
    for index, name in enumerate(names):
        references.append(storage.download(storage.private(), name, workdir / f"reference-{index}{Path(name).suffix}"))
    source = None
    if job.source_video is not None and job.source_video.mp4:
        source_store = storage.store_for(public_media=job.source_video.media_public)
        source = storage.download(source_store, job.source_video.mp4, workdir / "source.mp4")
    width, height = job.dimensions
    return RenderSpec(
        prompt=job.prompt,
        duration_s=job.duration_s,
        aspect=job.aspect,
        width=width,
        height=height,
        reference_images=references,
        source_video=source,
        directions=list(job.directions),
        seed=int(job.id.int % 2**31),
        caption=f"@{job.requester.handle}",
    )


def _wait_for_provider(job: RenderJob, provider, provider_job: ProviderJob) -> ProviderJob:
    while provider_job.state in ("queued", "running"):
        time.sleep(settings.RENDER_POLL_INTERVAL_S)
        provider_job = provider.poll(provider_job.provider_job_id)
        _update_running(job, progress=min(80, 10 + provider_job.progress * 70 // 100))
    return provider_job


def render_job_execute(*, job_id: str) -> None:
    """Render a queued job with its provider and store the original (renders queue)."""
    job = render_job_claim(job_id=job_id)
    if job is None:
        logger.info("render %s: nothing to do (already claimed or finished)", job_id)
        return
    provider = get_provider(job.provider)
    workdir = Path(tempfile.mkdtemp(prefix=f"render-{job.id}-"))
    provider_job_id = ""
    stored_original = ""
    try:
        with _heartbeat(job.id):
            _recheck_consent(job)
            with _stage(job, RenderJob.Stage.RENDERING, progress=10):
                provider_job = provider.submit(_render_spec(job, workdir))
                provider_job_id = provider_job.provider_job_id
                _update_running(job, provider_job_id=provider_job_id)
                provider_job = _wait_for_provider(job, provider, provider_job)
            if provider_job.state != "succeeded":
                raise ProviderPermanentError(
                    provider_job.error_message or "The provider did not finish the render.",
                    code=provider_job.error_code or "provider_failed",
                )
            with _stage(job, RenderJob.Stage.DOWNLOADING, progress=80):
                result = provider.fetch_result(provider_job_id, workdir / "original.mp4")
            _recheck_consent(job)
            with _stage(job, RenderJob.Stage.STORING, progress=85):
                with open(result, "rb") as handle:
                    stored_original = storage.private().save(f"renders/{job.id}/original.mp4", File(handle))
                # The heartbeat stays set: if this process dies before the post-processing
                # message is sent, the reaper sees the job go stale and sends it.
                _update_running(job, original=stored_original, stage=RenderJob.Stage.AWAITING_POST_PROCESSING)
    except JobCancelled:
        _after_cancel(job, provider, provider_job_id, [stored_original])
        return
    except ProviderTransientError as error:
        if stored_original:
            storage.private().delete(stored_original)
        if _requeue_or_fail(job, error):
            raise
        return
    except ProviderPermanentError as error:
        render_job_fail(job_id=job.id, code=error.code, message=str(error))
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    tasks.render_job_postprocess.delay(job_id=str(job.id))


def _after_cancel(job: RenderJob, provider, provider_job_id: str, stored: list[str]) -> None:
    if provider_job_id:
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
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status != RenderJob.Status.RUNNING:
        return False
    if job.attempts >= settings.RENDER_MAX_ATTEMPTS:
        _finish(job, RenderJob.Status.FAILED, code="provider_unavailable", message=str(error))
        return False
    job.status = RenderJob.Status.QUEUED
    job.stage = RenderJob.Stage.WAITING_TO_RETRY
    job.error_code = getattr(error, "code", "provider_transient_error")
    job.error_message = str(error)[:500]
    job.heartbeat_at = None
    job.save(update_fields=["status", "stage", "error_code", "error_message", "heartbeat_at"])
    return True


def _finish(job: RenderJob, status: str, *, code: str = "", message: str = "") -> None:
    """Caller holds the row lock."""
    job.status = status
    job.error_code = code
    job.error_message = message[:500]
    job.finished_at = timezone.now()
    job.heartbeat_at = None
    job.save(update_fields=["status", "error_code", "error_message", "finished_at", "heartbeat_at"])


@transaction.atomic
def render_job_fail(*, job_id, code: str, message: str) -> None:
    job = RenderJob.objects.select_for_update().get(id=job_id)
    if job.status in RenderJob.ACTIVE:
        _finish(job, RenderJob.Status.FAILED, code=code, message=message)


# --- Worker: post-processing --------------------------------------------------


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
    workdir = Path(tempfile.mkdtemp(prefix=f"post-{job.id}-"))
    published: list[str] = []
    try:
        with _heartbeat(job.id):
            started = time.monotonic()
            original = storage.download(storage.private(), job.original, workdir / "original.mp4")
            outputs = postprocessing.process(job=job, original=original, workdir=workdir)
            job.stage_seconds["post_processing"] = round(time.monotonic() - started, 3)
            _update_running(job, progress=95, stage_seconds=job.stage_seconds)
            _recheck_consent(job)
            started = time.monotonic()
            published = postprocessing.publish(job=job, outputs=outputs)
            job.stage_seconds["publishing"] = round(time.monotonic() - started, 3)
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
        render_job_fail(job_id=job.id, code="post_processing_failed", message="Post-processing failed.")
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
        _finish(locked, RenderJob.Status.CANCELLED, code="source_unavailable", message="A source is no longer shown.")
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
    _finish(locked, RenderJob.Status.SUCCEEDED)
    return True


# --- Cancel and reap ----------------------------------------------------------


@transaction.atomic
def render_job_cancel(*, job: RenderJob, reason: str = "cancelled_by_user", message: str = "") -> RenderJob:
    """Stop a job: at once when queued, at the worker's next stage boundary when running."""
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status == RenderJob.Status.CANCELLED:
        return job
    if job.is_finished:
        raise Conflict("This render has already finished.", code="render_finished")
    _finish(job, RenderJob.Status.CANCELLED, code=reason, message=message or reason.replace("_", " "))
    return job


def render_jobs_recheck_cameo(*, cameo_id: int) -> int:
    """After a consent change: cancel every active job whose requester lost the cameo."""
    cancelled = 0
    jobs = RenderJob.objects.filter(cameos__id=cameo_id, status__in=RenderJob.ACTIVE).select_related("requester")
    cameo = Cameo.objects.get(id=cameo_id)
    for job in jobs:
        permission = cameo_selectors.cameo_permission(user=job.requester, cameo=cameo)
        if not permission.allowed:
            try:
                render_job_cancel(job=job, reason="consent_withdrawn", message=f"Cameo {cameo_id}: {permission.reason}")
                cancelled += 1
            except Conflict:
                pass  # finished in the meantime
    return cancelled


def render_jobs_cancel_with_character(*, character_id: int, requester_id: int | None = None) -> int:
    """The holder withdrew a character (for everyone, or for one requester): its active jobs stop."""
    jobs = RenderJob.objects.filter(characters__id=character_id, status__in=RenderJob.ACTIVE)
    if requester_id is not None:
        jobs = jobs.filter(requester_id=requester_id)
    cancelled = 0
    for job in jobs.order_by("id"):
        try:
            render_job_cancel(job=job, reason="character_not_allowed", message="The rights holder withdrew permission.")
            cancelled += 1
        except Conflict:
            pass  # finished in the meantime
    return cancelled


def render_jobs_reap() -> dict[str, int]:
    """Re-queue jobs whose worker died (stale heartbeat); fail them after the last attempt."""
    counts = {"requeued": 0, "failed": 0}
    stale = RenderJob.objects.filter(status=RenderJob.Status.RUNNING, heartbeat_at__lt=_heartbeat_deadline())
    for job_id in stale.values_list("id", flat=True):
        with transaction.atomic():
            job = RenderJob.objects.select_for_update(skip_locked=True).filter(id=job_id).first()
            if job is None or job.status != RenderJob.Status.RUNNING or job.heartbeat_at >= _heartbeat_deadline():
                continue
            if job.stage in (RenderJob.Stage.POST_PROCESSING, RenderJob.Stage.AWAITING_POST_PROCESSING):
                job.stage = RenderJob.Stage.AWAITING_POST_PROCESSING
                job.heartbeat_at = timezone.now()  # not re-sent again before another timeout
                job.save(update_fields=["stage", "heartbeat_at"])
                transaction.on_commit(lambda job_id=job.id: tasks.render_job_postprocess.delay(job_id=str(job_id)))
                counts["requeued"] += 1
            elif job.attempts >= settings.RENDER_MAX_ATTEMPTS:
                _finish(job, RenderJob.Status.FAILED, code="worker_lost", message="The render worker stopped.")
                counts["failed"] += 1
            else:
                job.status = RenderJob.Status.QUEUED
                job.stage = RenderJob.Stage.REQUEUED_AFTER_WORKER_LOSS
                job.heartbeat_at = None
                job.save(update_fields=["status", "stage", "heartbeat_at"])
                transaction.on_commit(lambda job_id=job.id: tasks.render_job_execute.delay(job_id=str(job_id)))
                counts["requeued"] += 1
    counts["resent"] = _resend_lost_queued_jobs()
    return counts


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
            transaction.on_commit(lambda job_id=job.id: tasks.render_job_execute.delay(job_id=str(job_id)))
            resent += 1
    return resent


@transaction.atomic
def render_job_retry(*, job: RenderJob) -> RenderJob:
    """Admin action: run a failed or cancelled job again."""
    job = RenderJob.objects.select_for_update().get(id=job.id)
    if job.status not in (RenderJob.Status.FAILED, RenderJob.Status.CANCELLED):
        raise Conflict("Only failed or cancelled renders can be retried.", code="render_not_retryable")
    job.status = RenderJob.Status.QUEUED
    job.stage = RenderJob.Stage.RETRY_REQUESTED
    job.attempts = 0
    job.error_code = ""
    job.error_message = ""
    job.finished_at = None
    job.save(update_fields=["status", "stage", "attempts", "error_code", "error_message", "finished_at"])
    transaction.on_commit(lambda: tasks.render_job_execute.delay(job_id=str(job.id)))
    return job
