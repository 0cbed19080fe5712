"""Requesting a render or a remix: quotas, consent, policy and idempotency, before anything is queued."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import Cameo
from backend.core import outbox, storage
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.permissions import require_not_suspended
from backend.creators.models import User
from backend.moderation import selectors as moderation_selectors
from backend.moderation.providers import prompt_moderation
from backend.rights import selectors as rights_selectors
from backend.rights import services as rights_services
from backend.videos import services as video_services
from backend.videos.models import Video
from media import events, provenance_lookup, selectors, tasks
from media.models import RenderJob
from media.providers import get_provider
from media.providers.base import SpecRefused
from media.services.jobs import job_reference_names, job_render_spec


class RenderRefused(DomainError):
    status_code = 403
    default_code = "render_refused"
    default_detail = _("This render is not allowed.")


class RenderSpecRefused(DomainError):
    """The provider's API would reject this request (a length, an aspect, references it cannot take)."""

    status_code = 400
    default_code = "render_spec_refused"
    default_detail = _("The video model cannot render this request.")


# A 429 for a render still running: come back in about the time a short render takes.
CONCURRENT_RETRY_AFTER_S = 30


class QuotaExceeded(DomainError):
    status_code = 429
    default_code = "quota_exceeded"
    default_detail = _("You have reached a render limit.")


def _request_fingerprint(**fields) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_quotas(*, requester: User, duration_s: int) -> None:
    quotas = settings.TIER_QUOTAS[requester.tier]
    if duration_s > quotas["max_render_seconds"]:
        raise RenderRefused(
            _("Your tier renders at most %(seconds)d seconds.") % {"seconds": quotas["max_render_seconds"]},
            code="duration_over_tier_cap",
            details={"max_render_seconds": quotas["max_render_seconds"]},
        )
    jobs = RenderJob.objects.filter(requester=requester).exclude(status=RenderJob.Status.BLOCKED)
    if jobs.filter(status__in=RenderJob.ACTIVE).count() >= quotas["concurrent_renders"]:
        raise QuotaExceeded(
            _("Wait for a render to finish before starting another."),
            code="concurrent_render_limit",
            details={"concurrent_renders": quotas["concurrent_renders"]},
            retry_after_s=CONCURRENT_RETRY_AFTER_S,
        )
    if selectors.renders_used_today(user=requester) >= quotas["daily_renders"]:
        raise QuotaExceeded(
            _("You have used today's renders."),
            code="daily_render_limit",
            details={"daily_renders": quotas["daily_renders"]},
            retry_after_s=selectors.daily_render_frees_in_s(user=requester),
        )


def _require_cameo_consent(*, user: User, cameos: list[Cameo]) -> None:
    for cameo in cameos:
        permission = cameo_selectors.cameo_permission(user=user, cameo=cameo)
        if not permission.allowed:
            raise RenderRefused(
                _("You may not use this cameo."),
                code="cameo_not_allowed",
                details={"cameo_id": cameo.id, "reason": permission.reason},
            )


def _require_provider_accepts(*, job: RenderJob, cameos: list[Cameo], reference_image) -> None:
    """Refuse now, with a code the requester can act on, what the provider would refuse minutes later."""
    names = job_reference_names(job, cameos=cameos) + ([reference_image.name] if reference_image is not None else [])
    source = job.source_video
    spec = job_render_spec(
        job,
        reference_images=[Path(name) for name in names],
        source_video=Path(source.mp4) if source is not None and source.mp4 else None,
    )
    try:
        get_provider(job.provider).validate(spec)
    except SpecRefused as refusal:
        raise RenderSpecRefused(str(refusal), code=refusal.code, details=refusal.details) from refusal


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
        raise RenderRefused(_("This reference comes from a video you may not reuse."), code="reference_not_allowed")
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
    require_not_suspended(requester, action=_("render"))
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
                raise NotFound(_("No such cameo."), code="cameo_not_found")
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
            _require_provider_accepts(job=job, cameos=cameos, reference_image=reference_image)
            refusal, flags = _prompt_policy_refusal(requester=requester, prompt=prompt)
            job.moderation_flags = flags
            if refusal is not None:
                job.status = RenderJob.Status.BLOCKED
                job.set_error(code=refusal.detail.code, message=refusal.message)
                job.finished_at = timezone.now()
            if reference_image is not None and refusal is None:
                stored_reference = storage.private().save(f"renders/{job.id}/reference.jpg", reference_image)
                job.reference_image = stored_reference
            with transaction.atomic():
                job.save()
            job.cameos.set(cameos)
            job.characters.set(characters)
            if refusal is None:
                outbox.enqueue(tasks.render_job_execute, job_id=str(job.id))
                events.render_requested.send_on_commit(job_id=str(job.id))
            else:
                events.render_finished.send_on_commit(job_id=str(job.id), status=job.status)
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
        raise NotFound(_("No such video."))
    if not source.remix_allowed:
        raise RenderRefused(_("The owner turned remixing off for this video."), code="remix_disabled")
    if source.status != Video.Status.PUBLISHED or not video_services.source_holds(
        source=source, owner_id=requester.id, visibility=Video.Visibility.PRIVATE
    ):
        raise RenderRefused(_("Only public posts can be remixed (and your own posts)."), code="remix_not_allowed")
    return render_job_request(
        requester=requester, idempotency_key=idempotency_key, source_video=source, **render_fields
    )


def _replayed(job: RenderJob, fingerprint: str) -> RenderJob:
    if job.request_fingerprint != fingerprint:
        raise Conflict(
            _("This Idempotency-Key was used for a different request."),
            code="idempotency_key_reused",
            details={"render_id": str(job.id)},
        )
    if job.status == RenderJob.Status.BLOCKED:
        raise RenderRefused(job.error_text(), code=job.error_code, details={"render_id": str(job.id)})
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
            _("This prompt was refused by content moderation."), code="prompt_flagged",
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
