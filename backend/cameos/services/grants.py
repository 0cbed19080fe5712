"""Who may use a cameo: requests, decisions, revocations, and access that ends with a relationship."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos.events import consent_withdrawn, grant_decided, grant_requested
from backend.cameos.models import Cameo, CameoGrant
from backend.core.errors import Conflict, NotFound
from backend.core.permissions import require_not_suspended
from backend.creators.models import User
from backend.creators.selectors import is_blocked_between


@transaction.atomic
def grant_request(*, cameo: Cameo, by: User) -> CameoGrant:
    """Ask the owner of an ``approved``-audience cameo for access. Idempotent: a repeat returns the
    same grant in whatever state it is (a denial or revocation stands until the owner changes it).

    Anyone who may not ask (the owner, someone blocked either way, a cameo that is
    not active or not under ``approved``) gets ``NotFound``: nothing is revealed.
    """
    require_not_suspended(by, action=_("ask for cameo access"))
    cameo = Cameo.objects.filter(id=cameo.id).first()
    if (
        cameo is None
        or cameo.status != Cameo.Status.ACTIVE
        or cameo.audience != Cameo.Audience.APPROVED
        or cameo.owner_id == by.id
        or is_blocked_between(by.id, cameo.owner_id)
    ):
        raise NotFound(_("No such cameo."))
    try:
        with transaction.atomic():
            grant, created = CameoGrant.objects.get_or_create(cameo=cameo, grantee=by)
    except IntegrityError:  # a concurrent identical request won
        return CameoGrant.objects.get(cameo=cameo, grantee=by)
    if created:
        grant_requested.send_on_commit(grant_id=grant.id)
    return grant


def _owned_grant(grant: CameoGrant, by: User) -> CameoGrant:
    grant = CameoGrant.objects.select_for_update().select_related("cameo").get(id=grant.id)
    if grant.cameo.owner_id != by.id or grant.cameo.status == Cameo.Status.DELETED:
        raise NotFound(_("No such grant."))  # never reveal someone else's cameo
    return grant


@transaction.atomic
def grant_approve(*, grant: CameoGrant, by: User) -> CameoGrant:
    """The owner lets the grantee use the cameo (also after a denial or a revocation)."""
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.APPROVED:
        return grant
    if is_blocked_between(grant.grantee_id, by.id):
        raise Conflict(_("You and this person have blocked each other's access."), code="blocked")
    grant.status = CameoGrant.Status.APPROVED
    grant.decided_at = timezone.now()
    grant.revoked_at = None
    grant.save(update_fields=["status", "decided_at", "revoked_at"])
    grant_decided.send_on_commit(grant_id=grant.id, status=grant.status)
    return grant


@transaction.atomic
def grant_deny(*, grant: CameoGrant, by: User) -> CameoGrant:
    """The owner says no to a request. An approved grant is revoked instead (``grant_approved``)."""
    grant = _owned_grant(grant, by)
    if grant.status == CameoGrant.Status.DENIED:
        return grant
    if grant.status == CameoGrant.Status.APPROVED:
        raise Conflict(_("This grant is approved; revoke it instead."), code="grant_approved")
    grant.status = CameoGrant.Status.DENIED
    grant.decided_at = timezone.now()
    grant.save(update_fields=["status", "decided_at"])
    grant_decided.send_on_commit(grant_id=grant.id, status=grant.status)
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
    grant_decided.send_on_commit(grant_id=grant.id, status=grant.status)
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


@transaction.atomic
def grants_of_grantee_delete(*, grantee_id: int) -> int:
    """A purge: every grant the account asked for or held on others' cameos goes (the account renders nothing any
    more: its renders were cancelled when it was deactivated). How many. Idempotent."""
    return CameoGrant.objects.filter(grantee_id=grantee_id).delete()[0]


def mutual_access_end(*, user_a_id: int, user_b_id: int) -> None:
    """They are no longer mutuals: ``consent_withdrawn`` for each one's live ``mutuals`` cameos, naming the other."""
    for owner_id, other_id in ((user_a_id, user_b_id), (user_b_id, user_a_id)):
        live = Cameo.objects.filter(owner_id=owner_id, status=Cameo.Status.ACTIVE, audience=Cameo.Audience.MUTUALS)
        for cameo_id in live.order_by("id").values_list("id", flat=True):
            consent_withdrawn.send_on_commit(cameo_id=cameo_id, user_id=other_id, reason="unfollowed")
