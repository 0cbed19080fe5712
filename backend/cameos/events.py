"""Domain events of the cameos app.

``consent_withdrawn`` is sent (only after the causing transaction commits, via
``send_on_commit``) whenever access to a cameo may have narrowed. Receivers are
called with keyword arguments:

- ``cameo_id: int``: the cameo;
- ``user_id: int | None``: the one user who lost access, or ``None`` when it may
  be anyone (possibly the owner too);
- ``reason: str``: ``audience_changed``, ``grant_revoked``, ``blocked``,
  ``unfollowed`` (two mutuals no longer are), ``cameo_suspended``, ``cameo_deleted`` or
  ``owner_deactivated`` (the owner asked for their account's deletion).

One event per cameo and cause (a block sends one per live cameo of each party,
naming the other). The event says "re-check", not "refuse": receivers call
``backend.cameos.selectors.cameo_permission`` for what they hold (queued and
running renders, drafts, videos in feeds) and act on its answer. Current
receivers: ``media.receivers`` (cancels renders) and ``backend.videos.receivers``
(takes published videos out of feeds).
"""

from backend.core.events import DomainEvent

consent_withdrawn = DomainEvent()

# video_ids, by (the user acting), reason: the cameo's owner took these videos down (deleting the
# cameo, or removing one appearance). Sent with ``send``, inside the transaction: the videos come
# down in the same commit as the cause, or neither happens. Receiver: ``backend.videos.receivers``.
appearances_taken_down = DomainEvent()

# Sent on commit, for the people concerned to be told (``notifications.receivers``):
# grant_id: someone asked the owner for access to a cameo (a new request, not a repeat).
grant_requested = DomainEvent()
# grant_id, status (``approved``, ``denied`` or ``revoked``): the owner decided on a grant.
grant_decided = DomainEvent()
# verification_id, status (``approved`` or ``rejected``): a person cameo's verification was decided.
verification_decided = DomainEvent()
