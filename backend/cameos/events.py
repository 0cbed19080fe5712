from backend.core.events import DomainEvent

# cameo_id, user_id (None: everyone but possibly the owner lost access), reason.
# Sent after commit whenever access to a cameo may have narrowed: audience
# changed, grant revoked, a block, the cameo suspended or deleted. Receivers
# re-check consent for what they hold (queued renders, videos in feeds).
consent_withdrawn = DomainEvent()
