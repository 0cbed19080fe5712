"""Every write about cameos: creation, settings, verification, grants, appearances."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.cameos import selectors, uploads
from backend.cameos.events import consent_withdrawn
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.cameos.verification import get_verifier
from backend.core.errors import Conflict, DomainError, NotFound
from backend.creators.models import User
from media import storage

# Narrowing order: moving left can only take access away from someone.
_AUDIENCE_REACH = {
    Cameo.Audience.ONLY_ME: 0,
    Cameo.Audience.APPROVED: 1,
    Cameo.Audience.MUTUALS: 2,
    Cameo.Audience.EVERYONE: 3,
}
CHALLENGE_WORDS = (
    "amber", "blue", "cactus", "delta", "ember", "falcon", "garden", "harbor", "island", "jungle", "kettle",
    "lemon", "meadow", "nectar", "orbit", "pepper", "quartz", "river", "saddle", "tiger", "umbrella", "velvet",
    "willow", "yonder", "zephyr",
)  # fmt: skip


def _store_private(content, name: str) -> str:
    return storage.private().save(name, content)


def _delete_private_on_commit(names: list[str]) -> None:
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: [storage.private().delete(name) for name in names])


@transaction.atomic
def cameo_create(
    *,
    owner: User,
    kind: str,
    display_name: str,
    audience: str = Cameo.Audience.ONLY_ME,
    appearance_notes: str = "",
    restrictions: str = "",
    reference_image=None,
) -> Cameo:
    """A person cameo waits for verification; a character is active at once (within the tier's quota)."""
    User.objects.select_for_update().filter(id=owner.id).first()  # serialise quota checks per owner
    if kind == Cameo.Kind.PERSON:
        if selectors.cameos_of(owner=owner).filter(kind=Cameo.Kind.PERSON).exists():
            raise Conflict("You already have a person cameo.", code="person_cameo_exists")
        status = Cameo.Status.PENDING_VERIFICATION
    else:
        quota = settings.TIER_QUOTAS[owner.tier]["character_cameos"]
        if selectors.cameos_of(owner=owner).filter(kind=Cameo.Kind.CHARACTER).count() >= quota:
            raise DomainError(
                f"Your tier allows {quota} character cameos.", code="character_quota", details={"quota": quota}
            )
        # A character may not borrow a protected person's name.
        likeness = selectors.protected_likeness_match(text=display_name)
        if likeness is not None:
            raise selectors.ProtectedLikenessRefused(
                f"“{likeness.name}” is a protected likeness.", details={"protected_likeness": likeness.name}
            )
        status = Cameo.Status.ACTIVE
    image = uploads.reencoded_image(reference_image) if reference_image is not None else None
    cameo = Cameo.objects.create(
        owner=owner,
        kind=kind,
        display_name=display_name,
        status=status,
        audience=audience,
        appearance_notes=appearance_notes,
        restrictions=restrictions,
    )
    if image is not None:
        _set_reference_image(cameo, image)
    return cameo


def _set_reference_image(cameo: Cameo, image) -> None:
    old = cameo.reference_image
    stored = _store_private(image, f"cameos/{cameo.id}/reference-{secrets.token_hex(6)}.jpg")
    try:
        with transaction.atomic():
            Cameo.objects.filter(id=cameo.id).update(reference_image=stored, updated_at=timezone.now())
    except Exception:
        storage.private().delete(stored)
        raise
    cameo.reference_image = stored
    _delete_private_on_commit([old])


@transaction.atomic
def cameo_update(
    *,
    cameo: Cameo,
    by: User,
    display_name: str | None = None,
    audience: str | None = None,
    appearance_notes: str | None = None,
    restrictions: str | None = None,
    reference_image=None,
) -> Cameo:
    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound("No such cameo.")
    narrowed = audience is not None and _AUDIENCE_REACH[audience] < _AUDIENCE_REACH[cameo.audience]
    changes = {
        "display_name": display_name,
        "audience": audience,
        "appearance_notes": appearance_notes,
        "restrictions": restrictions,
    }
    changed = [name for name, value in changes.items() if value is not None]
    for name in changed:
        setattr(cameo, name, changes[name])
    if changed:
        cameo.updated_at = timezone.now()
        cameo.save(update_fields=[*changed, "updated_at"])
    if reference_image is not None:
        _set_reference_image(cameo, uploads.reencoded_image(reference_image))
    # Switching e.g. from approved to mutuals can take access from grantees too.
    if narrowed or (audience is not None and audience != Cameo.Audience.APPROVED):
        consent_withdrawn.send_on_commit(cameo_id=cameo.id, user_id=None, reason="audience_changed")
    return cameo


def _takedown_appearances(cameo: Cameo, *, by: User | None, reason: str) -> None:
    from backend.videos import services as video_services

    for appearance in cameo.appearances.select_related("video"):
        video_services.video_remove(video=appearance.video, by=by, reason=reason)


@transaction.atomic
def cameo_delete(*, cameo: Cameo, by: User) -> None:
    """Delete a cameo: every video using it comes down, its media is erased."""
    from backend.moderation.services import audit_record

    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.owner_id != by.id:
        raise NotFound("No such cameo.")
    if cameo.status == Cameo.Status.DELETED:
        return
    before = {"status": cameo.status}
    media_names = cameo.private_media_names + [v.clip for v in cameo.verifications.exclude(clip="")]
    cameo.status = Cameo.Status.DELETED
    cameo.reference_image = cameo.reference_clip = cameo.voice_sample = ""
    cameo.updated_at = timezone.now()
    cameo.save(update_fields=["status", "reference_image", "reference_clip", "voice_sample", "updated_at"])
    cameo.verifications.update(clip="")
    _takedown_appearances(cameo, by=by, reason="cameo deleted by its owner")
    _delete_private_on_commit(media_names)
    audit_record(actor=by, action="cameo.delete", target=cameo, reason="deleted by owner", before=before,
                 after={"status": "deleted"})  # fmt: skip
    consent_withdrawn.send_on_commit(cameo_id=cameo.id, user_id=None, reason="cameo_deleted")


@transaction.atomic
def cameo_suspend(*, cameo: Cameo, by: User, reason: str) -> Cameo:
    """Moderators: nobody, the owner included, may use the cameo until restored."""
    from backend.moderation.services import audit_record

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


# --- Verification ---------------------------------------------------------------


def _new_phrase() -> str:
    words = " ".join(secrets.choice(CHALLENGE_WORDS) for _ in range(3))
    return f"{words} {secrets.randbelow(90) + 10}"


@transaction.atomic
def verification_challenge(*, cameo: Cameo, by: User) -> CameoVerification:
    """The open challenge for a person cameo, or a new one (repeated calls return the same)."""
    cameo = Cameo.objects.select_for_update().get(id=cameo.id)
    if cameo.owner_id != by.id:
        raise NotFound("No such cameo.")
    if cameo.kind != Cameo.Kind.PERSON or cameo.status != Cameo.Status.PENDING_VERIFICATION:
        raise Conflict("This cameo does not need verification.", code="verification_not_needed")
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


@transaction.atomic
def verification_submit(*, cameo: Cameo, by: User, challenge_id: int, clip) -> CameoVerification:
    """Accept the clip answering a challenge; it then waits for the verifier (a moderator)."""
    verification = CameoVerification.objects.select_for_update().filter(id=challenge_id, cameo_id=cameo.id).first()
    if verification is None or cameo.owner_id != by.id:
        raise NotFound("No such challenge.")
    if verification.status != CameoVerification.Status.ISSUED:
        raise Conflict("This challenge was already answered; ask for a new one.", code="challenge_used")
    if verification.expires_at <= timezone.now():
        raise DomainError("This challenge has expired; ask for a new one.", code="challenge_expired")
    info = uploads.check_clip(clip, min_s=settings.CAMEO_CLIP_MIN_S, max_s=settings.CAMEO_CLIP_MAX_S)
    clip.seek(0)
    stored = _store_private(clip, f"cameos/{cameo.id}/verification-{verification.id}-{secrets.token_hex(6)}.mp4")
    try:
        with transaction.atomic():
            verification.clip = stored
            verification.clip_duration_s = info.duration_s
            verification.clip_width = info.width
            verification.clip_height = info.height
            verification.status = CameoVerification.Status.SUBMITTED
            verification.submitted_at = timezone.now()
            verification.save()
            get_verifier().submitted(verification=verification)
    except Exception:
        storage.private().delete(stored)
        raise
    return verification


@transaction.atomic
def verification_approve(
    *, verification: CameoVerification, by: User | None, protected_likeness: ProtectedLikeness | None = None
) -> CameoVerification:
    from backend.moderation.services import audit_record

    verification = CameoVerification.objects.select_for_update().get(id=verification.id)
    if verification.status != CameoVerification.Status.SUBMITTED:
        raise Conflict("Only a submitted verification can be approved.", code="verification_not_submitted")
    now = timezone.now()
    verification.status = CameoVerification.Status.APPROVED
    verification.reviewed_by = by
    verification.reviewed_at = now
    verification.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    Cameo.objects.filter(id=verification.cameo_id, status=Cameo.Status.PENDING_VERIFICATION).update(
        status=Cameo.Status.ACTIVE,
        verified_at=now,
        reference_clip=verification.clip,
        protected_likeness=protected_likeness,
        updated_at=now,
    )
    audit_record(actor=by, action="cameo.verify", target=verification.cameo, reason="verification approved",
                 before={"status": "pending_verification"}, after={"status": "active"})  # fmt: skip
    return verification


@transaction.atomic
def verification_reject(*, verification: CameoVerification, by: User | None, note: str) -> CameoVerification:
    from backend.moderation.services import audit_record

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
    """Ask the owner for access. Repeating it changes nothing; a denial stands."""
    from backend.moderation.services import require_not_suspended

    require_not_suspended(by, action="ask for cameo access")
    try:
        with transaction.atomic():
            grant, _ = CameoGrant.objects.get_or_create(cameo=cameo, grantee=by)
    except IntegrityError:
        grant = CameoGrant.objects.get(cameo=cameo, grantee=by)
    return grant


def _owned_grant(grant: CameoGrant, by: User) -> CameoGrant:
    grant = CameoGrant.objects.select_for_update().select_related("cameo").get(id=grant.id)
    if grant.cameo.owner_id != by.id:
        raise NotFound("No such grant.")  # never reveal someone else's cameo
    return grant


@transaction.atomic
def grant_approve(*, grant: CameoGrant, by: User) -> CameoGrant:
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.APPROVED:
        return grant
    grant.status = CameoGrant.Status.APPROVED
    grant.decided_at = timezone.now()
    grant.revoked_at = None
    grant.save(update_fields=["status", "decided_at", "revoked_at"])
    return grant


@transaction.atomic
def grant_deny(*, grant: CameoGrant, by: User) -> CameoGrant:
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
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.REVOKED:
        return grant
    grant.status = CameoGrant.Status.REVOKED
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["status", "revoked_at"])
    consent_withdrawn.send_on_commit(cameo_id=grant.cameo_id, user_id=grant.grantee_id, reason="grant_revoked")
    return grant


@transaction.atomic
def grants_revoke_between(*, user_a: User, user_b: User) -> None:
    """After a block: neither keeps access to the other's cameos."""
    grants = CameoGrant.objects.select_for_update().filter(
        cameo__owner_id__in=[user_a.id, user_b.id],
        grantee_id__in=[user_a.id, user_b.id],
        status__in=[CameoGrant.Status.APPROVED, CameoGrant.Status.REQUESTED],
    )
    now = timezone.now()
    for grant in grants:
        grant.status = CameoGrant.Status.REVOKED
        grant.revoked_at = now
        grant.save(update_fields=["status", "revoked_at"])
    # Even without grants (everyone, mutuals), a block ends access: re-check both ways.
    for owner, other in ((user_a, user_b), (user_b, user_a)):
        for cameo_id in Cameo.objects.filter(owner=owner, status=Cameo.Status.ACTIVE).values_list("id", flat=True):
            consent_withdrawn.send_on_commit(cameo_id=cameo_id, user_id=other.id, reason="blocked")


# --- Appearances ----------------------------------------------------------------


def appearance_record(*, cameo: Cameo, video) -> Appearance:
    appearance, _ = Appearance.objects.get_or_create(cameo=cameo, video=video)
    return appearance


@transaction.atomic
def appearance_remove(*, cameo: Cameo, by: User, video_id: int) -> Appearance:
    """The cameo's owner takes down a video that uses their likeness, for everyone."""
    from backend.videos import services as video_services

    if cameo.owner_id != by.id:
        raise NotFound("No such cameo.")
    appearance = Appearance.objects.select_related("video").filter(cameo=cameo, video_id=video_id).first()
    if appearance is None:
        raise NotFound("This video does not use this cameo.")
    video_services.video_remove(video=appearance.video, by=by, reason=f"removed by the owner of cameo {cameo.id}")
    if appearance.removed_by_owner_at is None:
        appearance.removed_by_owner_at = timezone.now()
        appearance.save(update_fields=["removed_by_owner_at"])
    return appearance
