from backend.core.events import DomainEvent

# video_id: a draft became a post (feeds fan it out to followers).
video_published = DomainEvent()
# video_id: caption, visibility or the like changed (cached cards are stale).
video_changed = DomainEvent()
# video_id: removed or consent withdrawn: gone from every feed at once.
video_hidden = DomainEvent()
# video_id: restored by a moderator.
video_shown = DomainEvent()
# video_id, user_id, liked: a like was added or taken back (feeds keep who liked what).
video_liked = DomainEvent()
