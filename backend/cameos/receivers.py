"""Reactions of cameos to the events of creators: relationships that ended take access with them, and an
account being deleted takes its likeness out of every render and video."""

from django.dispatch import receiver

from backend.cameos.events import consent_withdrawn
from backend.cameos.services import cameos_owner_standing_changed, grants_revoke_between, mutual_access_end
from backend.core import metrics
from backend.creators.events import account_deactivated, block_created, mutuals_ended


@receiver(mutuals_ended, dispatch_uid="cameos.end_mutual_access")
def end_mutual_access(sender, *, user_a_id: int, user_b_id: int, **kwargs) -> None:
    mutual_access_end(user_a_id=user_a_id, user_b_id=user_b_id)


@receiver(block_created, dispatch_uid="cameos.revoke_grants_on_block")
def revoke_grants_on_block(sender, *, blocker_id: int, blocked_id: int, **kwargs) -> None:
    grants_revoke_between(user_a_id=blocker_id, user_b_id=blocked_id)


@receiver(account_deactivated, dispatch_uid="cameos.withdraw_consent_of_deactivated_account")
def withdraw_consent_of_deactivated_account(sender, *, user_id: int, **kwargs) -> None:
    # ``cameo_permission`` refuses an inactive owner's cameos; the event makes renders and videos re-check.
    cameos_owner_standing_changed(owner_id=user_id)


@receiver(consent_withdrawn, dispatch_uid="cameos.count_consent_withdrawn")
def count_consent_withdrawn(sender, *, reason: str = "", **kwargs) -> None:
    # Counted once per event, after its commit, whatever the receivers above it do with it.
    metrics.CONSENT_WITHDRAWALS.labels(reason=reason or "unspecified").inc()
