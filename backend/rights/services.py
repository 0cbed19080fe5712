"""Characters used with permission, and revenue split so that everyone is paid their share.

Split rule, for each revenue event of a published video (in basis points of
the amount, then divided exactly by ``splits.allocate``):

1. each rights holder of a character in the video: that character's
   ``revenue_share_bps``;
2. the cameo owners in the video: ``REVENUE_CAMEO_POOL_BPS`` shared equally
   (the creator's own cameo included); with no cameos the pool goes to the creator;
3. the creators of the nearest ``REVENUE_ANCESTORS_PAID`` ancestors of a
   remix: ``REVENUE_ANCESTOR_POOL_BPS`` shared equally; with none, to the creator;
4. the platform: ``REVENUE_PLATFORM_BPS``;
5. the creator: the rest.

Amounts are integer minor units; the largest-remainder method makes the
parts add up to the event exactly. Entries are append-only; a replayed event
(same ``external_id``) changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos.models import Appearance
from backend.core.audit import audit_record
from backend.core.errors import DomainError, NotFound
from backend.rights import events
from backend.rights.models import Character, LedgerEntry, RevenueEvent, UsageApproval, VideoCharacter
from backend.rights.splits import BASIS_POINTS, allocate

# --- Policy (the checks are reads: ``backend.rights.selectors``) -----------------


@transaction.atomic
def usage_approval_request(*, character_id: int, user) -> UsageApproval:
    """Ask the holder to approve a use (kept even though the render that needed it was refused)."""
    approval, created = UsageApproval.objects.get_or_create(character_id=character_id, requester=user)
    if created:
        events.usage_approval_requested.send_on_commit(approval_id=approval.id)
    return approval


@transaction.atomic
def usage_approval_decide(*, approval: UsageApproval, by, approve: bool) -> UsageApproval:
    """The holder (or staff for them) approves or denies one requester's use of a character. Audited.

    A decision may be changed; denying a use that was approved cancels that requester's
    queued and running renders with the character (the policy is checked again at every
    later step anyway). Deciding the same way twice changes nothing.
    """

    approval = UsageApproval.objects.select_for_update().select_related("character").get(id=approval.id)
    if not (by.is_staff or approval.character.holder.members.filter(id=by.id).exists()):
        raise NotFound(_("No such approval request."))
    status = UsageApproval.Status.APPROVED if approve else UsageApproval.Status.DENIED
    if approval.status == status:
        return approval
    before = {"status": approval.status}
    approval.status = status
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_at"])
    audit_record(actor=by, action=f"character.usage_{'approve' if approve else 'deny'}", target=approval,
                 reason=f"{approval.character.name} for user {approval.requester_id}", before=before,
                 after={"status": status})  # fmt: skip
    if before["status"] == UsageApproval.Status.APPROVED and not approve:
        character_id, requester_id = approval.character_id, approval.requester_id
        events.character_withdrawn.send_on_commit(character_id=character_id, requester_id=requester_id)
    return approval


def video_characters_record(*, video, characters: list[Character]) -> None:
    for character in characters:
        VideoCharacter.objects.get_or_create(video=video, character=character)


@transaction.atomic
def character_policy_update(*, character: Character, by, **policy) -> Character:
    """Change a policy; turning a character off cancels queued and running renders that use it.

    Published videos stay up unless the holder asks (an admin action, audited).
    """

    character = Character.objects.select_for_update().get(id=character.id)
    before = {name: getattr(character, name) for name in policy}
    for name, value in policy.items():
        setattr(character, name, value)
    character.save(update_fields=list(policy))
    audit_record(actor=by, action="character.policy", target=character, reason="policy changed", before=before,
                 after=policy)  # fmt: skip
    if before.get("allowed") and policy.get("allowed") is False:
        events.character_withdrawn.send_on_commit(character_id=character.id, requester_id=None)
    return character


# --- Revenue ------------------------------------------------------------------------


def _parties(video) -> list[tuple[tuple, int]]:
    """(party key, basis points) for every party of a video's revenue, per the rule above."""
    weights: list[tuple[tuple, int]] = []
    creator_bps = BASIS_POINTS - settings.REVENUE_PLATFORM_BPS
    for link in VideoCharacter.objects.filter(video=video).select_related("character__holder"):
        share = link.character.revenue_share_bps
        weights.append(((LedgerEntry.Party.RIGHTS_HOLDER, None, link.character.holder_id, link.character_id), share))
        creator_bps -= share
    cameo_owners = sorted(set(Appearance.objects.filter(video=video).values_list("cameo__owner_id", flat=True)))
    if cameo_owners:
        for owner_id, part in allocate(settings.REVENUE_CAMEO_POOL_BPS, [(o, 1) for o in cameo_owners]):
            weights.append(((LedgerEntry.Party.CAMEO_OWNER, owner_id, None, None), part))
        creator_bps -= settings.REVENUE_CAMEO_POOL_BPS
    owners = _nearest_ancestor_owners(video, settings.REVENUE_ANCESTORS_PAID)
    if owners:
        for index, part in allocate(settings.REVENUE_ANCESTOR_POOL_BPS, [(i, 1) for i in range(len(owners))]):
            weights.append(((LedgerEntry.Party.ANCESTOR, owners[index], None, None), part))
        creator_bps -= settings.REVENUE_ANCESTOR_POOL_BPS
    weights.append(((LedgerEntry.Party.PLATFORM, None, None, None), settings.REVENUE_PLATFORM_BPS))
    weights.append(((LedgerEntry.Party.CREATOR, video.owner_id, None, None), max(0, creator_bps)))
    return weights


def _nearest_ancestor_owners(video, count: int) -> list[int]:
    """The owners of the video's parent, grandparent ... up to ``count`` of them, nearest first."""
    owners: list[int] = []
    ancestor = video.parent
    while ancestor is not None and len(owners) < count:
        owners.append(ancestor.owner_id)
        ancestor = ancestor.parent
    return owners


@transaction.atomic
def revenue_event_record(
    *, video, kind: str, amount_minor: int, currency: str, external_id: str
) -> tuple[RevenueEvent, bool]:
    """Record an event and its ledger entries once; returns (event, created)."""
    existing = RevenueEvent.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    if video.status != video.Status.PUBLISHED:
        raise DomainError(_("Only published videos earn revenue."), code="video_not_published")
    if amount_minor <= 0:
        raise DomainError(_("The amount must be positive."), code="invalid_amount")
    try:
        with transaction.atomic():
            event = RevenueEvent.objects.create(video=video, kind=kind, amount_minor=amount_minor,
                                                currency=currency.upper(), external_id=external_id)  # fmt: skip
    except IntegrityError:  # the same event arriving twice at once
        return RevenueEvent.objects.get(external_id=external_id), False
    entries = [
        LedgerEntry(
            event=event,
            party=party,
            user_id=user_id,
            holder_id=holder_id,
            character_id=character_id,
            amount_minor=amount,
            currency=event.currency,
        )
        for (party, user_id, holder_id, character_id), amount in allocate(amount_minor, _parties(video))
        if amount
    ]
    LedgerEntry.objects.bulk_create(entries)
    return event, True


@transaction.atomic
def character_videos_take_down(*, character: Character, by, reason: str) -> int:
    """At the holder's request: remove every published video using the character (each audited)."""
    removals = events.character_taken_down.send(
        sender=None, character_id=character.id, by=by, reason=f"rights holder request: {reason}"
    )
    count = sum(removed for _receiver, removed in removals)
    audit_record(actor=by, action="character.take_down", target=character, reason=reason, after={"videos": count})
    return count
