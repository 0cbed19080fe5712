"""Domain events of the moderation app (sending: ``backend/core/events.py``), sent on commit."""

from backend.core.events import DomainEvent

# case_id: a case was resolved (its reporters hear of the decision).
case_resolved = DomainEvent()
# strike_id: an account got a strike (its owner is told).
strike_added = DomainEvent()
