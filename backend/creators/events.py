from backend.core.events import DomainEvent

# user_ids: a block between these users was made or lifted (caches of who is hidden from whom are stale).
block_changed = DomainEvent()

# follower_id, followee_id: a follow began (the follower's following feed gains the followee's posts).
follow_started = DomainEvent()

# follower_id, followee_id: a follow ended (unfollowed, or ended by a block).
follow_ended = DomainEvent()
