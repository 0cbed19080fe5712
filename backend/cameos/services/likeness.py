"""A cameo's life: creation, settings and media, deletion, suspension and restoration."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors
from backend.cameos.events import appearances_taken_down, consent_withdrawn
from backend.cameos.models import Cameo, CameoVerification
from backend.cameos.services import files
from backend.core import names
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.permissions import require_not_suspended
from backend.creators.models import User


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
            raise Conflict(_("You already have a person cameo."), code="person_cameo_exists")
    else:
        quota = settings.TIER_QUOTAS[owner.tier]["character_cameos"]
        if selectors.cameos_of(owner=owner).filter(kind=Cameo.Kind.CHARACTER).count() >= quota:
            raise DomainError(
                _("Your tier allows %(quota)d character cameos.") % {"quota": quota},
                code="character_quota",
                details={"quota": quota},
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
    require_not_suspended(owner, action=_("create a cameo"))
    _check_texts(by=owner, display_name=display_name, appearance_notes=appearance_notes, restrictions=restrictions)
    _check_can_create(owner=owner, kind=kind, display_name=display_name)  # before the slow media checks
    media = {"reference_image": reference_image, "reference_clip": reference_clip, "voice_sample": voice_sample}
    with files.checked_media(**media) as ready, files.removing_stored_on_failure() as stored, transaction.atomic():
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
            raise Conflict(_("You already have a person cameo."), code="person_cameo_exists") from None
        files.store_media(cameo, ready, stored)
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
        raise NotFound(_("No such cameo."))
    _check_texts(by=by, display_name=display_name, appearance_notes=appearance_notes, restrictions=restrictions)
    with files.checked_media(**media) as ready, files.removing_stored_on_failure() as stored, transaction.atomic():
        cameo = Cameo.objects.select_for_update().get(id=cameo.id)
        if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
            raise NotFound(_("No such cameo."))
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
        files.store_media(cameo, ready, stored)
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
        raise NotFound(_("No such cameo."))
    if cameo.status == Cameo.Status.DELETED:
        return
    before = {"status": cameo.status, "audience": cameo.audience}
    clips = list(cameo.verifications.exclude(clip="").values_list("clip", flat=True))
    media_names = cameo.private_media_names + clips
    now = timezone.now()
    cameo.status = Cameo.Status.DELETED
    cameo.reference_image = cameo.reference_clip = cameo.voice_sample = ""
    cameo.updated_at = cameo.deleted_at = now
    cameo.save(
        update_fields=["status", "reference_image", "reference_clip", "voice_sample", "updated_at", "deleted_at"]
    )
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
    files.delete_private_on_commit(media_names)
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


def cameos_owner_standing_changed(*, owner_id: int) -> None:
    """The owner's account was deactivated (``cameo_permission`` now refuses their cameos): what holds
    them re-checks (``consent_withdrawn``: renders stop, others' videos with them are withdrawn)."""
    for cameo_id in (
        Cameo.objects.filter(owner_id=owner_id).exclude(status=Cameo.Status.DELETED).values_list("id", flat=True)
    ):
        consent_withdrawn.send_on_commit(cameo_id=cameo_id, user_id=None, reason="owner_deactivated")
