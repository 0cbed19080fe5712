"""Proving a person cameo is its owner: a challenge phrase, a clip answering it, a decision."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors, uploads
from backend.cameos.events import verification_decided
from backend.cameos.models import Cameo, CameoVerification, ProtectedLikeness
from backend.cameos.services import files
from backend.cameos.verification import get_verifier
from backend.core import storage
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError, NotFound
from backend.creators.models import User

CHALLENGE_WORDS = (
    "amber", "blue", "cactus", "delta", "ember", "falcon", "garden", "harbor", "island", "jungle", "kettle",
    "lemon", "meadow", "nectar", "orbit", "pepper", "quartz", "river", "saddle", "tiger", "umbrella", "velvet",
    "willow", "yonder", "zephyr",
)  # fmt: skip


def _new_phrase() -> str:
    words = " ".join(secrets.choice(CHALLENGE_WORDS) for _ in range(3))
    return f"{words} {secrets.randbelow(90) + 10}"


def _require_needs_verification(cameo: Cameo, by: User) -> None:
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound(_("No such cameo."))
    if cameo.kind != Cameo.Kind.PERSON or cameo.status != Cameo.Status.PENDING_VERIFICATION:
        raise Conflict(_("This cameo does not need verification."), code="verification_not_needed")


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
        raise NotFound(_("No such challenge."))
    if verification.status != CameoVerification.Status.ISSUED:
        raise Conflict(_("This challenge was already answered; ask for a new one."), code="challenge_used")
    if verification.expires_at <= timezone.now():
        raise DomainError(_("This challenge has expired; ask for a new one."), code="challenge_expired")
    return verification


def verification_submit(*, cameo: Cameo, by: User, challenge_id: int, clip) -> CameoVerification:
    """Accept the clip answering a challenge (once); it then waits for the verifier, by default a moderator.

    Refusals: ``challenge_used`` (409), ``challenge_expired`` (400), ``verification_not_needed`` (409)
    and the clip codes of ``backend.cameos.uploads`` (the challenge stays open after a bad clip).
    """
    _require_needs_verification(cameo, by)
    _open_challenge(cameo=cameo, by=by, challenge_id=challenge_id, lock=False)  # cheap refusals first
    limits = {"min_s": settings.CAMEO_CLIP_MIN_S, "max_s": settings.CAMEO_CLIP_MAX_S, "need_audio": True}
    with (
        uploads.cleaned_clip(clip, **limits) as clean,
        files.removing_stored_on_failure() as stored,
        transaction.atomic(),
    ):
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
        raise Conflict(_("Only a submitted verification can be approved."), code="verification_not_submitted")
    if cameo.status != Cameo.Status.PENDING_VERIFICATION:
        raise Conflict(_("This cameo is not waiting for verification."), code="verification_not_needed")
    named = selectors.protected_likeness_match(text=cameo.display_name)
    if named is not None and protected_likeness is None:
        raise Conflict(
            _("The cameo's name matches the protected likeness “%(name)s”; confirm it is them, or reject.")
            % {"name": named.name},
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
    verification_decided.send_on_commit(verification_id=verification.id, status=verification.status)
    return verification


@transaction.atomic
def verification_reject(*, verification: CameoVerification, by: User | None, note: str) -> CameoVerification:
    """The clip does not show the person saying the phrase: the clip is erased; the owner may try again."""

    verification = CameoVerification.objects.select_for_update().get(id=verification.id)
    if verification.status != CameoVerification.Status.SUBMITTED:
        raise Conflict(_("Only a submitted verification can be rejected."), code="verification_not_submitted")
    verification.status = CameoVerification.Status.REJECTED
    verification.reviewed_by = by
    verification.reviewed_at = timezone.now()
    verification.review_note = note[:300]
    clip = verification.clip
    verification.clip = ""
    verification.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "clip"])
    files.delete_private_on_commit([clip])  # a rejected clip is not kept
    audit_record(actor=by, action="cameo.verification_reject", target=verification.cameo, reason=note)
    verification_decided.send_on_commit(verification_id=verification.id, status=verification.status)
    return verification
