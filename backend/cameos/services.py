"""Every write about cameos: creation, settings, media, verification, grants, appearances.

Uploads are checked (and stripped of metadata) before a row is locked or a
byte is stored; files stored by a write that then fails are deleted again, and
files a write replaces or erases are deleted only once it commits. One
departure from "one ``@transaction.atomic`` per service": the services that
store files open their transaction inside a ``try`` so that a failed commit
also removes what they stored. (Called inside a caller's transaction that later
rolls back, a stored file can outlive its row; it is then unreferenced, never
served.)
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.cameos import selectors, uploads
from backend.cameos.events import appearances_taken_down, consent_withdrawn
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.cameos.verification import get_verifier
from backend.core import names, storage
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.permissions import require_not_suspended
from backend.creators.models import User
from backend.creators.selectors import is_blocked_between

logger = logging.getLogger(__name__)

CHALLENGE_WORDS = (
    "amber", "blue", "cactus", "delta", "ember", "falcon", "garden", "harbor", "island", "jungle", "kettle",
    "lemon", "meadow", "nectar", "orbit", "pepper", "quartz", "river", "saddle", "tiger", "umbrella", "velvet",
    "willow", "yonder", "zephyr",
)  # fmt: skip
MEDIA_FIELDS = ("reference_image", "reference_clip", "voice_sample")


# --- Private media ----------------------------------------------------------------


def _delete_private_now(names: list[str]) -> None:
    for name in names:
        try:
            storage.private().delete(name)
        except Exception:  # storage outage: the row no longer points at it; log for a sweep
            logger.exception("could not delete private media %s", name)


def _delete_private_on_commit(names: list[str]) -> None:
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: _delete_private_now(names))


@contextmanager
def _checked_media(*, reference_image=None, reference_clip=None, voice_sample=None) -> Iterator[dict[str, File]]:
    """Check every upload before anything is stored: ``{field: content ready to store}``.

    Raises ``uploads.BadUpload`` (a 4xx) for the first bad file; temporary files go on exit.
    """
    with ExitStack() as stack:
        ready: dict[str, File] = {}
        if reference_image is not None:
            ready["reference_image"] = uploads.reencoded_image(reference_image)
        if reference_clip is not None:
            clip = stack.enter_context(
                uploads.cleaned_clip(
                    reference_clip, min_s=settings.CAMEO_CLIP_MIN_S, max_s=settings.CAMEO_CLIP_MAX_S, need_audio=False
                )
            )
            ready["reference_clip"] = stack.enter_context(clip.open())
        if voice_sample is not None:
            voice = stack.enter_context(
                uploads.cleaned_voice(voice_sample, min_s=settings.CAMEO_VOICE_MIN_S, max_s=settings.CAMEO_VOICE_MAX_S)
            )
            ready["voice_sample"] = stack.enter_context(voice.open())
        yield ready


def _store_media(cameo: Cameo, ready: dict[str, File], stored: list[str]) -> None:
    """Store checked media for ``cameo`` (caller holds its row lock); ``stored`` collects the new names."""
    if not ready:
        return
    names = {}
    for field, content in ready.items():
        extension = os.path.splitext(content.name)[1]
        name = f"cameos/{cameo.id}/{field.replace('_', '-')}-{secrets.token_hex(8)}{extension}"
        names[field] = storage.private().save(name, content)
        stored.append(names[field])
    replaced = [getattr(cameo, field) for field in names]
    for field, name in names.items():
        setattr(cameo, field, name)
    cameo.updated_at = timezone.now()
    cameo.save(update_fields=[*names, "updated_at"])
    _delete_private_on_commit(replaced)


@contextmanager
def _removing_stored_on_failure() -> Iterator[list[str]]:
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        _delete_private_now(stored)
        raise


# --- Cameos -----------------------------------------------------------------------


def _check_name(*, owner: User, kind: str, status: str | None, display_name: str) -> None:
    """A cameo may not carry a protected person's name unless its owner is that person, verified.

    A person cameo still waiting for verification may: its approval then has to
    confirm the person (see ``verification_approve``).
    """
    if kind == Cameo.Kind.PERSON and status in (None, Cameo.Status.PENDING_VERIFICATION):
        return
    selectors.prompt_likeness_check(user=owner, text=display_name, field="display_name")


def _check_texts(*, by: User, display_name: str | None, appearance_notes: str | None, restrictions: str | None):
    """The name guard on a cameo's texts: notes and restrictions travel with every render request; the
    name's protected-likeness rule is ``_check_name`` (a person may carry their own name, verified)."""
    names.text_guard(user=by, fields={"display_name": display_name}, skip=("protected_likenesses",))
    names.text_guard(user=by, fields={"appearance_notes": appearance_notes, "restrictions": restrictions})


def _check_can_create(*, owner: User, kind: str, display_name: str) -> None:
    if kind == Cameo.Kind.PERSON:
        if selectors.cameos_of(owner=owner).filter(kind=Cameo.Kind.PERSON).exists():
            raise Conflict("You already have a person cameo.", code="person_cameo_exists")
    else:
        quota = settings.TIER_QUOTAS[owner.tier]["character_cameos"]
        if selectors.cameos_of(owner=owner).filter(kind=Cameo.Kind.CHARACTER).count() >= quota:
            raise DomainError(
                f"Your tier allows {quota} character cameos.", code="character_quota", details={"quota": quota}
            )
    _check_name(owner=owner, kind=kind, status=None, display_name=display_name)


def cameo_create(
    *,
    owner: User,
    kind: str,
    display_name: str,
    audience: str = Cameo.Audience.ONLY_ME,
    appearance_notes: str = "",
    restrictions: str = "",
    reference_image=None,
    reference_clip=None,
    voice_sample=None,
) -> Cameo:
    """A person cameo (one per owner) waits for verification; a character is active at once, within the tier's quota.

    Refusals: ``person_cameo_exists`` (409), ``character_quota`` (400), ``protected_likeness`` (403),
    and the upload codes of ``backend.cameos.uploads``.
    """
    require_not_suspended(owner, action="create a cameo")
    _check_texts(by=owner, display_name=display_name, appearance_notes=appearance_notes, restrictions=restrictions)
    _check_can_create(owner=owner, kind=kind, display_name=display_name)  # before the slow media checks
    media = {"reference_image": reference_image, "reference_clip": reference_clip, "voice_sample": voice_sample}
    with _checked_media(**media) as ready, _removing_stored_on_failure() as stored, transaction.atomic():
        User.objects.select_for_update().filter(id=owner.id).first()  # serialise quota checks per owner
        _check_can_create(owner=owner, kind=kind, display_name=display_name)
        try:
            with transaction.atomic():
                cameo = Cameo.objects.create(
                    owner=owner,
                    kind=kind,
                    display_name=display_name,
                    status=Cameo.Status.PENDING_VERIFICATION if kind == Cameo.Kind.PERSON else Cameo.Status.ACTIVE,
                    audience=audience,
                    appearance_notes=appearance_notes,
                    restrictions=restrictions,
                )
        except IntegrityError:  # the one-person-cameo constraint, raced
            raise Conflict("You already have a person cameo.", code="person_cameo_exists") from None
        _store_media(cameo, ready, stored)
    return cameo


def _audience_narrows(old: str, new: str) -> bool:
    """Could moving from ``old`` to ``new`` take access from anyone? (Blocks are refused under every audience.)"""
    return old != new and old != Cameo.Audience.ONLY_ME and new != Cameo.Audience.EVERYONE


def cameo_update(
    *,
    cameo: Cameo,
    by: User,
    display_name: str | None = None,
    audience: str | None = None,
    appearance_notes: str | None = None,
    restrictions: str | None = None,
    reference_image=None,
    reference_clip=None,
    voice_sample=None,
) -> Cameo:
    """The owner changes settings or media. Narrowing the audience sends ``consent_withdrawn`` (user_id None)."""
    media = {"reference_image": reference_image, "reference_clip": reference_clip, "voice_sample": voice_sample}
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound("No such cameo.")
    _check_texts(by=by, display_name=display_name, appearance_notes=appearance_notes, restrictions=restrictions)
    with _checked_media(**media) as ready, _removing_stored_on_failure() as stored, transaction.atomic():
        cameo = Cameo.objects.select_for_update().get(id=cameo.id)
        if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
            raise NotFound("No such cameo.")
        if display_name is not None and display_name != cameo.display_name:
            _check_name(owner=by, kind=cameo.kind, status=cameo.status, display_name=display_name)
        old_audience = cameo.audience
        changes = {
            "display_name": display_name,
            "audience": audience,
            "appearance_notes": appearance_notes,
            "restrictions": restrictions,
        }
        changed = [name for name, value in changes.items() if value is not None and value != getattr(cameo, name)]
        for name in changed:
            setattr(cameo, name, changes[name])
        if changed:
            cameo.updated_at = timezone.now()
            cameo.save(update_fields=[*changed, "updated_at"])
        _store_media(cameo, ready, stored)
        if audience is not None and _audience_narrows(old_audience, audience):
            consent_withdrawn.send_on_commit(cameo_id=cameo.id, user_id=None, reason="audience_changed")
    return cameo


@transaction.atomic
def cameo_delete(*, cameo: Cameo, by: User) -> None:
    """The owner deletes a cameo: every video using it comes down and its media is erased (on commit).

    The row stays (status ``deleted``) so appearances and the audit trail keep
    their subject; the owner may then create a new person cameo. Idempotent.
    """

    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.owner_id != by.id:
        raise NotFound("No such cameo.")
    if cameo.status == Cameo.Status.DELETED:
        return
    before = {"status": cameo.status, "audience": cameo.audience}
    clips = list(cameo.verifications.exclude(clip="").values_list("clip", flat=True))
    media_names = cameo.private_media_names + clips
    now = timezone.now()
    cameo.status = Cameo.Status.DELETED
    cameo.reference_image = cameo.reference_clip = cameo.voice_sample = ""
    cameo.updated_at = now
    cameo.save(update_fields=["status", "reference_image", "reference_clip", "voice_sample", "updated_at"])
    # Nothing is left for a moderator to review, and a clip is no longer kept.
    open_verifications = [CameoVerification.Status.ISSUED, CameoVerification.Status.SUBMITTED]
    cameo.verifications.filter(status__in=open_verifications).update(
        status=CameoVerification.Status.REJECTED, reviewed_at=now, review_note="the cameo was deleted"
    )
    cameo.verifications.update(clip="")
    appearances_taken_down.send(
        sender=None,
        video_ids=list(cameo.appearances.order_by("video_id").values_list("video_id", flat=True)),
        by=by,
        reason=f"cameo {cameo.id} deleted by its owner",
    )
    _delete_private_on_commit(media_names)
    audit_record(actor=by, action="cameo.delete", target=cameo, reason="deleted by its owner", before=before,
                 after={"status": "deleted"})  # fmt: skip
    consent_withdrawn.send_on_commit(cameo_id=cameo.id, user_id=None, reason="cameo_deleted")


@transaction.atomic
def cameo_suspend(*, cameo: Cameo, by: User | None, reason: str) -> Cameo:
    """Moderators: nobody, the owner included, may use the cameo until it is restored. Idempotent."""

    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.status in (Cameo.Status.SUSPENDED, Cameo.Status.DELETED):
        return cameo
    before = {"status": cameo.status}
    cameo.status = Cameo.Status.SUSPENDED
    cameo.status_reason = reason[:300]
    cameo.updated_at = timezone.now()
    cameo.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(actor=by, action="cameo.suspend", target=cameo, reason=reason, before=before,
                 after={"status": "suspended"})  # fmt: skip
    consent_withdrawn.send_on_commit(cameo_id=cameo.id, user_id=None, reason="cameo_suspended")
    return cameo


@transaction.atomic
def cameo_restore(*, cameo: Cameo, by: User | None, reason: str) -> Cameo:
    """Moderators lift a suspension: back to active, or to pending if the person was never verified."""

    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.status != Cameo.Status.SUSPENDED:
        return cameo
    unverified_person = cameo.kind == Cameo.Kind.PERSON and cameo.verified_at is None
    cameo.status = Cameo.Status.PENDING_VERIFICATION if unverified_person else Cameo.Status.ACTIVE
    cameo.status_reason = ""
    cameo.updated_at = timezone.now()
    cameo.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(actor=by, action="cameo.restore", target=cameo, reason=reason, before={"status": "suspended"},
                 after={"status": cameo.status})  # fmt: skip
    return cameo


# --- Verification ---------------------------------------------------------------


def _new_phrase() -> str:
    words = " ".join(secrets.choice(CHALLENGE_WORDS) for _ in range(3))
    return f"{words} {secrets.randbelow(90) + 10}"


def _require_needs_verification(cameo: Cameo, by: User) -> None:
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound("No such cameo.")
    if cameo.kind != Cameo.Kind.PERSON or cameo.status != Cameo.Status.PENDING_VERIFICATION:
        raise Conflict("This cameo does not need verification.", code="verification_not_needed")


@transaction.atomic
def verification_challenge(*, cameo: Cameo, by: User) -> CameoVerification:
    """The open challenge for a person cameo, or a new one. Repeated calls return the same one
    (or the submission waiting for review); an expired or rejected one is replaced."""
    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    _require_needs_verification(cameo, by)
    pending = cameo.verifications.filter(status=CameoVerification.Status.SUBMITTED).first()
    if pending is not None:
        return pending
    challenge = cameo.verifications.filter(
        status=CameoVerification.Status.ISSUED, expires_at__gt=timezone.now()
    ).first()
    if challenge is not None:
        return challenge
    return CameoVerification.objects.create(
        cameo=cameo,
        phrase=_new_phrase(),
        expires_at=timezone.now() + timedelta(seconds=settings.CAMEO_CHALLENGE_TTL_S),
    )


def _open_challenge(*, cameo: Cameo, by: User, challenge_id: int, lock: bool) -> CameoVerification:
    verifications = CameoVerification.objects.filter(id=challenge_id, cameo_id=cameo.id)
    verification = (verifications.select_for_update() if lock else verifications).first()
    if verification is None or cameo.owner_id != by.id:
        raise NotFound("No such challenge.")
    if verification.status != CameoVerification.Status.ISSUED:
        raise Conflict("This challenge was already answered; ask for a new one.", code="challenge_used")
    if verification.expires_at <= timezone.now():
        raise DomainError("This challenge has expired; ask for a new one.", code="challenge_expired")
    return verification


def verification_submit(*, cameo: Cameo, by: User, challenge_id: int, clip) -> CameoVerification:
    """Accept the clip answering a challenge (once); it then waits for the verifier, by default a moderator.

    Refusals: ``challenge_used`` (409), ``challenge_expired`` (400), ``verification_not_needed`` (409)
    and the clip codes of ``backend.cameos.uploads`` (the challenge stays open after a bad clip).
    """
    _require_needs_verification(cameo, by)
    _open_challenge(cameo=cameo, by=by, challenge_id=challenge_id, lock=False)  # cheap refusals first
    limits = {"min_s": settings.CAMEO_CLIP_MIN_S, "max_s": settings.CAMEO_CLIP_MAX_S, "need_audio": True}
    with uploads.cleaned_clip(clip, **limits) as clean, _removing_stored_on_failure() as stored, transaction.atomic():
        cameo = Cameo.objects.select_for_update().get(id=cameo.id)
        _require_needs_verification(cameo, by)
        verification = _open_challenge(cameo=cameo, by=by, challenge_id=challenge_id, lock=True)
        name = f"cameos/{cameo.id}/verification-{verification.id}-{secrets.token_hex(8)}{clean.extension}"
        with clean.open() as content:
            stored.append(storage.private().save(name, content))
        verification.clip = stored[-1]
        verification.clip_duration_s = clean.duration_s
        verification.clip_width = clean.width
        verification.clip_height = clean.height
        verification.status = CameoVerification.Status.SUBMITTED
        verification.submitted_at = timezone.now()
        verification.save()
        get_verifier().submitted(verification=verification)
    return verification


@transaction.atomic
def verification_approve(
    *, verification: CameoVerification, by: User | None, protected_likeness: ProtectedLikeness | None = None
) -> CameoVerification:
    """The clip shows the cameo's person saying the phrase: the cameo becomes active.

    ``protected_likeness`` links the cameo to a protected person (who alone may
    then render that name). A cameo whose name matches a protected likeness
    cannot be approved without that confirmation (``protected_likeness_unconfirmed``).
    """

    verification = CameoVerification.objects.select_for_update().get(id=verification.id)
    cameo = Cameo.objects.select_for_update().get(id=verification.cameo_id)
    if verification.status != CameoVerification.Status.SUBMITTED:
        raise Conflict("Only a submitted verification can be approved.", code="verification_not_submitted")
    if cameo.status != Cameo.Status.PENDING_VERIFICATION:
        raise Conflict("This cameo is not waiting for verification.", code="verification_not_needed")
    named = selectors.protected_likeness_match(text=cameo.display_name)
    if named is not None and protected_likeness is None:
        raise Conflict(
            f"The cameo's name matches the protected likeness “{named.name}”; confirm it is them, or reject.",
            code="protected_likeness_unconfirmed",
            details={"protected_likeness": named.name, "protected_likeness_id": named.id},
        )
    now = timezone.now()
    verification.status = CameoVerification.Status.APPROVED
    verification.reviewed_by = by
    verification.reviewed_at = now
    verification.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    cameo.status = Cameo.Status.ACTIVE
    cameo.verified_at = now
    cameo.reference_clip = cameo.reference_clip or verification.clip
    cameo.protected_likeness = protected_likeness
    cameo.updated_at = now
    cameo.save(update_fields=["status", "verified_at", "reference_clip", "protected_likeness", "updated_at"])
    after = {"status": "active", "protected_likeness": protected_likeness.name if protected_likeness else None}
    audit_record(actor=by, action="cameo.verify", target=cameo, reason="verification approved",
                 before={"status": "pending_verification"}, after=after)  # fmt: skip
    return verification


@transaction.atomic
def verification_reject(*, verification: CameoVerification, by: User | None, note: str) -> CameoVerification:
    """The clip does not show the person saying the phrase: the clip is erased; the owner may try again."""

    verification = CameoVerification.objects.select_for_update().get(id=verification.id)
    if verification.status != CameoVerification.Status.SUBMITTED:
        raise Conflict("Only a submitted verification can be rejected.", code="verification_not_submitted")
    verification.status = CameoVerification.Status.REJECTED
    verification.reviewed_by = by
    verification.reviewed_at = timezone.now()
    verification.review_note = note[:300]
    clip = verification.clip
    verification.clip = ""
    verification.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "clip"])
    _delete_private_on_commit([clip])  # a rejected clip is not kept
    audit_record(actor=by, action="cameo.verification_reject", target=verification.cameo, reason=note)
    return verification


# --- Grants ---------------------------------------------------------------------


@transaction.atomic
def grant_request(*, cameo: Cameo, by: User) -> CameoGrant:
    """Ask the owner of an ``approved``-audience cameo for access. Idempotent: a repeat returns the
    same grant in whatever state it is (a denial or revocation stands until the owner changes it).

    Anyone who may not ask (the owner, someone blocked either way, a cameo that is
    not active or not under ``approved``) gets ``NotFound``: nothing is revealed.
    """
    require_not_suspended(by, action="ask for cameo access")
    cameo = Cameo.objects.filter(id=cameo.id).first()
    if (
        cameo is None
        or cameo.status != Cameo.Status.ACTIVE
        or cameo.audience != Cameo.Audience.APPROVED
        or cameo.owner_id == by.id
        or is_blocked_between(by.id, cameo.owner_id)
    ):
        raise NotFound("No such cameo.")
    try:
        with transaction.atomic():
            grant, _ = CameoGrant.objects.get_or_create(cameo=cameo, grantee=by)
    except IntegrityError:  # a concurrent identical request won
        grant = CameoGrant.objects.get(cameo=cameo, grantee=by)
    return grant


def _owned_grant(grant: CameoGrant, by: User) -> CameoGrant:
    grant = CameoGrant.objects.select_for_update().select_related("cameo").get(id=grant.id)
    if grant.cameo.owner_id != by.id or grant.cameo.status == Cameo.Status.DELETED:
        raise NotFound("No such grant.")  # never reveal someone else's cameo
    return grant


@transaction.atomic
def grant_approve(*, grant: CameoGrant, by: User) -> CameoGrant:
    """The owner lets the grantee use the cameo (also after a denial or a revocation)."""
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.APPROVED:
        return grant
    if is_blocked_between(grant.grantee_id, by.id):
        raise Conflict("You and this person have blocked each other's access.", code="blocked")
    grant.status = CameoGrant.Status.APPROVED
    grant.decided_at = timezone.now()
    grant.revoked_at = None
    grant.save(update_fields=["status", "decided_at", "revoked_at"])
    return grant


@transaction.atomic
def grant_deny(*, grant: CameoGrant, by: User) -> CameoGrant:
    """The owner says no to a request. An approved grant is revoked instead (``grant_approved``)."""
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.DENIED:
        return grant
    if grant.status == CameoGrant.Status.APPROVED:
        raise Conflict("This grant is approved; revoke it instead.", code="grant_approved")
    grant.status = CameoGrant.Status.DENIED
    grant.decided_at = timezone.now()
    grant.save(update_fields=["status", "decided_at"])
    return grant


@transaction.atomic
def grant_revoke(*, grant: CameoGrant, by: User) -> CameoGrant:
    """The owner takes access back, at once: ``consent_withdrawn`` for the grantee if they had it."""
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.REVOKED:
        return grant
    had_access = grant.status == CameoGrant.Status.APPROVED
    grant.status = CameoGrant.Status.REVOKED
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["status", "revoked_at"])
    if had_access:
        consent_withdrawn.send_on_commit(cameo_id=grant.cameo_id, user_id=grant.grantee_id, reason="grant_revoked")
    return grant


@transaction.atomic
def grants_revoke_between(*, user_a_id: int, user_b_id: int) -> None:
    """After a block: neither keeps access to the other's cameos (grants revoked, requests closed).

    Even without a grant (audience ``everyone`` or ``mutuals``) a block ends
    access, so ``consent_withdrawn`` goes out for every live cameo of each,
    naming the other.
    """
    grants = CameoGrant.objects.select_for_update().filter(
        cameo__owner_id__in=[user_a_id, user_b_id],
        grantee_id__in=[user_a_id, user_b_id],
        status__in=[CameoGrant.Status.APPROVED, CameoGrant.Status.REQUESTED],
    )
    now = timezone.now()
    for grant in grants.order_by("id"):
        grant.status = CameoGrant.Status.REVOKED
        grant.revoked_at = now
        grant.save(update_fields=["status", "revoked_at"])
    for owner_id, other_id in ((user_a_id, user_b_id), (user_b_id, user_a_id)):
        live = Cameo.objects.filter(owner_id=owner_id, status=Cameo.Status.ACTIVE).values_list("id", flat=True)
        for cameo_id in live.order_by("id"):
            consent_withdrawn.send_on_commit(cameo_id=cameo_id, user_id=other_id, reason="blocked")


def mutual_access_end(*, user_a_id: int, user_b_id: int) -> None:
    """They are no longer mutuals: ``consent_withdrawn`` for each one's live ``mutuals`` cameos, naming the other."""
    for owner_id, other_id in ((user_a_id, user_b_id), (user_b_id, user_a_id)):
        live = Cameo.objects.filter(owner_id=owner_id, status=Cameo.Status.ACTIVE, audience=Cameo.Audience.MUTUALS)
        for cameo_id in live.order_by("id").values_list("id", flat=True):
            consent_withdrawn.send_on_commit(cameo_id=cameo_id, user_id=other_id, reason="unfollowed")


# --- Appearances ----------------------------------------------------------------


def appearance_record(*, cameo: Cameo, video) -> Appearance:
    """Link a cameo to a draft or video that uses it (the render pipeline calls this). Idempotent."""
    appearance, _ = Appearance.objects.get_or_create(cameo=cameo, video=video)
    return appearance


@transaction.atomic
def appearance_remove(*, cameo: Cameo, by: User, video_id: int) -> Appearance:
    """The cameo's owner takes down a video that uses their likeness, for everyone (audited by
    ``video_remove``). Idempotent."""
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound("No such cameo.")
    appearance = Appearance.objects.select_related("video").filter(cameo=cameo, video_id=video_id).first()
    if appearance is None:
        raise NotFound("This video does not use this cameo.")
    appearances_taken_down.send(
        sender=None, video_ids=[video_id], by=by, reason=f"removed by the owner of cameo {cameo.id}"
    )
    if appearance.removed_by_owner_at is None:
        appearance.removed_by_owner_at = timezone.now()
        appearance.save(update_fields=["removed_by_owner_at"])
    return appearance
