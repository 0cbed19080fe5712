from backend.core.events import DomainEvent

# follower_id, followee_id: a follow began (the follower's following feed gains the followee's posts).
follow_started = DomainEvent()

# follower_id, followee_id: a follow ended (unfollowed, or ended by a block).
follow_ended = DomainEvent()
