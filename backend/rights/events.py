"""Domain events of the rights app (sending: ``backend/core/events.py``)."""

from backend.core.events import DomainEvent

# character_id, requester_id (None: everyone): permission to use the character was withdrawn (turned
# off, or one requester's approval denied). Sent on commit; ``media.receivers`` cancels the queued
# and running renders that use it (every later step re-checks the policy anyway).
character_withdrawn = DomainEvent()

# character_id, by (the user acting), reason: at the holder's request, every published video using
# the character comes down. Sent with ``send``, inside the transaction; ``backend.videos.receivers``
# removes the videos and returns how many.
character_taken_down = DomainEvent()

# approval_id: someone asked a holder to approve their use of a character (a new request; sent on
# commit, the holder's members are told).
usage_approval_requested = DomainEvent()
