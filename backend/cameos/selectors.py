"""Consent reads: the one permission function, and everything built on it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from backend.cameos.models import Appearance, Cameo, CameoGrant, ProtectedLikeness
from backend.core import names
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import Translatable
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import are_mutuals, is_blocked_between


@dataclass(frozen=True)
class CameoPermission:
    allowed: bool
    reason: str


_GRANT_REASONS = {
    CameoGrant.Status.APPROVED: "grant_approved",
    CameoGrant.Status.REQUESTED: "grant_pending",
    CameoGrant.Status.DENIED: "grant_denied",
    CameoGrant.Status.REVOKED: "grant_revoked",
}


def cameo_permission(*, user: User, cameo: Cameo) -> CameoPermission:
    """May ``user`` use ``cameo`` in a render right now, and if not, why.

    Reasons: owner, audience_everyone, mutuals, grant_approved (allowed);
    not_active, owner_inactive (its owner's account is being deleted), blocked,
    only_me, not_mutuals, no_grant, grant_pending, grant_denied, grant_revoked
    (refused). Evaluated from the database on
    every call: a revocation counts from the moment it commits.
    """
    if cameo.status != Cameo.Status.ACTIVE:
        return CameoPermission(False, "not_active")
    if not cameo.owner.is_active:  # load cameos with their owner (``select_related("owner")``)
        return CameoPermission(False, "owner_inactive")
    if user.id == cameo.owner_id:
        return CameoPermission(True, "owner")
    if is_blocked_between(user.id, cameo.owner_id):
        return CameoPermission(False, "blocked")
    if cameo.audience == Cameo.Audience.EVERYONE:
        return CameoPermission(True, "audience_everyone")
    if cameo.audience == Cameo.Audience.MUTUALS:
        mutual = are_mutuals(user.id, cameo.owner_id)
        return CameoPermission(mutual, "mutuals" if mutual else "not_mutuals")
    if cameo.audience == Cameo.Audience.APPROVED:
        grant = CameoGrant.objects.filter(cameo=cameo, grantee=user).first()
        if grant is None:
            return CameoPermission(False, "no_grant")
        return CameoPermission(grant.status == CameoGrant.Status.APPROVED, _GRANT_REASONS[grant.status])
    return CameoPermission(False, "only_me")


def cameos_usable_by(*, user: User) -> QuerySet[Cameo]:
    """Every cameo ``user`` may use now, in one query: the same rules as ``cameo_permission``."""
    owner = OuterRef("owner_id")
    blocked = Exists(
        Block.objects.filter(Q(blocker_id=user.id, blocked_id=owner) | Q(blocker_id=owner, blocked_id=user.id))
    )
    mutual = Exists(Follow.objects.filter(follower_id=user.id, followee_id=owner)) & Exists(
        Follow.objects.filter(follower_id=owner, followee_id=user.id)
    )
    granted = Exists(
        CameoGrant.objects.filter(cameo_id=OuterRef("id"), grantee_id=user.id, status=CameoGrant.Status.APPROVED)
    )
    others = ~blocked & (
        Q(audience=Cameo.Audience.EVERYONE)
        | (Q(audience=Cameo.Audience.MUTUALS) & mutual)
        | (Q(audience=Cameo.Audience.APPROVED) & granted)
    )
    return (
        Cameo.objects.filter(status=Cameo.Status.ACTIVE, owner__is_active=True)
        .filter(Q(owner_id=user.id) | others)
        .select_related("owner")
        .order_by("-created_at", "-id")
    )


def cameos_of(*, owner: User) -> QuerySet[Cameo]:
    return Cameo.objects.filter(owner=owner).exclude(status=Cameo.Status.DELETED).order_by("-created_at", "-id")


def cameo_visible_to(*, viewer: User, cameo_id: int) -> Cameo:
    """The owner sees their cameo; others only one they may use. Anything else is 404."""
    cameo = Cameo.objects.select_related("owner").filter(id=cameo_id).exclude(status=Cameo.Status.DELETED).first()
    if cameo is None or (cameo.owner_id != viewer.id and not cameo_permission(user=viewer, cameo=cameo).allowed):
        raise NotFound(_("No such cameo."))
    return cameo


def cameo_owned_by(*, owner: User, cameo_id: int) -> Cameo:
    cameo = cameos_of(owner=owner).filter(id=cameo_id).first()
    if cameo is None:
        raise NotFound(_("No such cameo."))
    return cameo


def cameo_requestable_by(*, user: User, cameo_id: int) -> Cameo:
    """A cameo whose access ``user`` may ask for: active, audience ``approved``, no block."""
    cameo = Cameo.objects.filter(id=cameo_id, status=Cameo.Status.ACTIVE).select_related("owner").first()
    if (
        cameo is None
        or not cameo.owner.is_active
        or cameo.owner_id == user.id
        or cameo.audience != Cameo.Audience.APPROVED
        or is_blocked_between(user.id, cameo.owner_id)
    ):
        raise NotFound(_("No such cameo."))
    return cameo


def grant_for(*, cameo: Cameo, user: User) -> CameoGrant | None:
    return CameoGrant.objects.filter(cameo=cameo, grantee=user).first()


def grants_of(*, cameo: Cameo) -> QuerySet[CameoGrant]:
    return cameo.grants.select_related("grantee").order_by("-requested_at")


def appearances_for_owner(*, cameo: Cameo) -> QuerySet[Appearance]:
    """Every draft and video the cameo is in, whoever made it."""
    return cameo.appearances.select_related("video__owner").order_by("-created_at")


def videos_with_cameos_of(*, owner_id: int) -> QuerySet:
    """Ids of videos in which someone's cameo appears (they may see those, drafts included)."""
    return Appearance.objects.filter(cameo__owner_id=owner_id).values("video_id")


def cameo_refusals_for_video(*, user: User, video_id: int) -> list[dict]:
    """The cameos of a video that ``user`` may not use now (empty when publishing is fine)."""
    refusals = []
    for appearance in Appearance.objects.filter(video_id=video_id).select_related("cameo__owner"):
        permission = cameo_permission(user=user, cameo=appearance.cameo)
        if not permission.allowed:
            refusals.append({"cameo_id": appearance.cameo_id, "reason": permission.reason})
    return refusals


def videos_now_refused(*, cameo_id: int, creator_id: int | None = None) -> list[int]:
    """Videos with this cameo (drafts and posts, not yet withdrawn for consent) whose creators may no
    longer use it: one permission check per creator, however many videos they made with it."""
    appearances = (
        Appearance.objects.filter(cameo_id=cameo_id)
        .exclude(video__status="removed")
        .exclude(video__withdrawn_reason="consent")
    )
    if creator_id is not None:
        appearances = appearances.filter(video__owner_id=creator_id)
    by_creator: dict[int, list[int]] = {}
    for video_id, owner_id in appearances.values_list("video_id", "video__owner_id"):
        by_creator.setdefault(owner_id, []).append(video_id)
    if not by_creator:
        return []
    cameo = Cameo.objects.select_related("owner").get(id=cameo_id)
    creators = User.objects.in_bulk(list(by_creator))
    return sorted(
        video_id
        for owner_id, video_ids in by_creator.items()
        if not cameo_permission(user=creators[owner_id], cameo=cameo).allowed
        for video_id in video_ids
    )


def cameo_ids_in_video(*, video_id: int) -> list[int]:
    return list(Appearance.objects.filter(video_id=video_id).values_list("cameo_id", flat=True))


# --- Protected likenesses -------------------------------------------------------

# One matcher for every protected list: ``backend.core.names``.
normalize_name_text = names.normalize_name_text


def _protected_version() -> tuple:
    return tuple(
        ProtectedLikeness.objects.filter(is_active=True)
        .aggregate(count=Count("id"), top=Max("id"), changed=Max("updated_at"))
        .values()
    )


def _protected_entries() -> list[names.Entry]:
    return [
        names.Entry(likeness.id, likeness.name, tuple(likeness.terms), tuple(_lines(likeness.exceptions)))
        for likeness in ProtectedLikeness.objects.filter(is_active=True).order_by("id")
    ]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


PROTECTED_LIKENESSES = names.NameList("protected_likenesses", _protected_version, _protected_entries)


def protected_likenesses_in(*, text: str) -> list[ProtectedLikeness]:
    """Every active protected likeness that ``text`` names, by name or alias, in any form the name
    guard reads ("Obama" in "OBAMA!" but not "Obamacare"; "#JeanLucGodard"; "Нова Старлинг")."""
    ids = [entry.id for entry in names.names_in(PROTECTED_LIKENESSES, text)]
    if not ids:
        return []
    return list(ProtectedLikeness.objects.filter(id__in=ids, is_active=True).order_by("id"))


def protected_likeness_match(*, text: str) -> ProtectedLikeness | None:
    """The first active protected likeness named in ``text``, if any."""
    found = protected_likenesses_in(text=text)
    return found[0] if found else None


class ProtectedLikenessRefused(DomainError):
    status_code = 403
    default_code = "protected_likeness"
    default_detail = _("This names a protected person.")


def prompt_likeness_check(*, user: User, text: str, field: str = "prompt") -> None:
    """Refuse (``protected_likeness``, 403) a text naming a protected person, unless ``user`` is that
    person: the owner of an active, verified person cameo linked to that likeness. Every name in the
    text is checked; being one protected person does not clear another. ``field`` is named in the refusal.
    """
    named = protected_likenesses_in(text=text)
    if not named:
        return
    own = set(
        Cameo.objects.filter(
            owner=user, kind=Cameo.Kind.PERSON, status=Cameo.Status.ACTIVE, protected_likeness__in=named
        ).values_list("protected_likeness_id", flat=True)
    )
    for likeness in named:
        if likeness.id not in own:
            raise ProtectedLikenessRefused(
                Translatable(
                    "“%(name)s” is a protected likeness and cannot be used in the %(field)s.",
                    name=likeness.name,
                    field=names.field_label(field),
                ),
                details={"field": field, "protected_likeness": likeness.name, "label": likeness.name},
            )


names.register_text_guard("protected_likenesses", prompt_likeness_check)


def cameos_media_purge_due(*, deleted_before) -> QuerySet[Cameo]:
    """Deleted cameos whose files are not purged yet, deleted before then (rows deleted before
    ``deleted_at`` was recorded count from their last change)."""
    deleted = Q(deleted_at__lt=deleted_before) | Q(deleted_at__isnull=True, updated_at__lt=deleted_before)
    return Cameo.objects.filter(deleted, status=Cameo.Status.DELETED, media_purged_at__isnull=True).order_by("id")
