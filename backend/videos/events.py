from backend.core.events import DomainEvent

# video_id: a draft became a post (feeds fan it out to followers).
video_published = DomainEvent()
# video_ids: caption, visibility, teen flag or the like changed (cached cards are stale, files may move).
video_changed = DomainEvent()
# video_ids: removed, or withdrawn (consent, or a source it embeds): gone from every feed at once.
video_hidden = DomainEvent()
# video_ids: restored by a moderator, or back once every source it embeds is shown again.
video_shown = DomainEvent()
# video_id, owner_id (the video's), user_id, liked: a like was added or taken back (feeds keep who
# liked what; the owner hears of it).
video_liked = DomainEvent()
# comment_id: a comment was posted (the video's owner, and anyone it mentions, hear of it).
comment_created = DomainEvent()
# video_id, by_id (None: the system): someone other than its creator took the video down (a
# moderator, or the owner of a cameo in it); its creator and the owners of its cameos are told.
video_removed = DomainEvent()
# video_id: a moderator restored a removed video (its creator is told).
video_restored = DomainEvent()
