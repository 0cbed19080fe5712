from backend.core.events import DomainEvent

# video_id: a draft became a post (feeds fan it out to followers).
video_published = DomainEvent()
# video_ids: caption, visibility, teen flag or the like changed (cached cards are stale, files may move).
video_changed = DomainEvent()
# video_ids: removed, or withdrawn (consent, or a source it embeds): gone from every feed at once.
video_hidden = DomainEvent()
# video_ids: restored by a moderator, or back once every source it embeds is shown again.
video_shown = DomainEvent()
# video_id, user_id, liked: a like was added or taken back (feeds keep who liked what).
video_liked = DomainEvent()
