"""How one revenue amount is divided, in integer minor units that always add up.

Shares are weights in basis points. Each party first gets the floor of its
exact share; the units left over (fewer than the number of parties) go one
each to the parties with the largest fractional remainders, ties broken by the
order the parties were given in (largest-remainder method). So the parts
always add up to the amount exactly, none is negative, and each part is within
one minor unit of its exact share.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

BASIS_POINTS = 10_000


def allocate(amount: int, weights: Sequence[tuple[Hashable, int]]) -> list[tuple[Hashable, int]]:
    """Divide ``amount`` (>= 0) among ``weights`` (party, basis points >= 0, summing to > 0)."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if any(weight < 0 for _, weight in weights):
        raise ValueError("weights must not be negative")
    total_weight = sum(weight for _, weight in weights)
    if total_weight <= 0:
        raise ValueError("weights must add up to more than zero")
    floors = []
    remainders = []
    for index, (_party, weight) in enumerate(weights):
        share, remainder = divmod(amount * weight, total_weight)
        floors.append(share)
        remainders.append((-remainder, index))
    left_over = amount - sum(floors)
    for _, index in sorted(remainders)[:left_over]:
        floors[index] += 1
    return [(party, part) for (party, _), part in zip(weights, floors, strict=True)]
