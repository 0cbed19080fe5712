"""What is left of a tier's allowances (``settings.TIER_QUOTAS``).

Creators owns tiers, not what spends them: the app that spends an allowance registers how much of
it a user has used (media registers ``daily_renders`` in its ``AppConfig.ready``), so ``/me`` shows
what is left without creators importing the apps above it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from backend.creators.models import User

_used_by_allowance: dict[str, Callable[[User], int]] = {}


def usage_register(*, allowance: str, used: Callable[[User], int]) -> None:
    _used_by_allowance[allowance] = used


def allowance_left(*, user: User, allowance: str) -> int:
    """The tier's allowance minus what the registered counter says is used (the whole allowance if none is)."""
    limit = settings.TIER_QUOTAS[user.tier][allowance]
    used = _used_by_allowance.get(allowance)
    return max(0, limit - used(user)) if used is not None else limit
