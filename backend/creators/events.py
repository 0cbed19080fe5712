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

# Sent with ``send``, inside the transaction, so every effect commits with the cause or not at all:
# user_id: the owner asked for the account's deletion; it is inactive from now on (its videos leave
# every surface, its cameos stop being usable, others' videos showing its likeness are withdrawn).
account_deactivated = DomainEvent()
# user_id, export_id: a copy of the account's data is ready to download. Sent on commit by data_rights,
# which sits beside notifications (neither imports the other): the owner is told in the inbox too.
data_export_ready = DomainEvent()
# user_id, deactivated_at (the deletion request's datetime): the owner signed in during the grace period;
# what ``account_deactivated`` took away comes back where the rules allow it now.
account_restored = DomainEvent()
# Sent with ``send``, inside the purge's last transaction: user_id: the account is erased; what the apps above keep
# of the person goes with it (its devices, notification settings and inbox).
account_purged = DomainEvent()
