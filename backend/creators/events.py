from backend.core.events import DomainEvent

# follower_id, followee_id: a follow began (the follower's following feed gains the followee's posts).
follow_started = DomainEvent()

# follower_id, followee_id: a follow ended (unfollowed, or ended by a block).
follow_ended = DomainEvent()

# Sent with ``send``, inside the transaction (backend/core/events.py), so what rested on the
# relationship ends in the same commit:
# user_a_id, user_b_id: two people who followed each other no longer both do.
mutuals_ended = DomainEvent()

# blocker_id, blocked_id: a block began (follows both ways have ended already).
block_created = DomainEvent()

# user_id, suspended_until (ISO 8601): an account was suspended until then (the account is told).
account_suspended = DomainEvent()
