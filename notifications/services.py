"""Every write of the inbox: items made and grouped, read, preferences, devices.

Contract for the rest of the code (receivers call these through tasks on the ``notifications``
queue, never in a request):

- ``notify(...)``: one item per event (its ``key`` is the event's identity); a redelivered event
  finds the item there and does nothing.
- ``group_refresh(...)``: the grouped item of a target ("maya and 41 others liked your video"),
  recomputed from the source rows (likes, follows, remixes, challenge entries) since the recipient
  last read it; running it twice changes nothing.
Both skip a recipient who is inactive, the actor themself, anyone blocked either way with the actor,
and a kind the recipient switched off for the inbox (likeness kinds cannot be); they queue a push
(through the outbox, in the same transaction) when the recipient's push preference allows it.
"""

from __future__ import annotations

from notifications.models import Kind, Notification


def notify(
    *,
    recipient_id: int,
    kind: Kind,
    key: str,
    target_type: str,
    target_id: int | str,
    deep_link: str,
    actor_id: int | None = None,
    data: dict | None = None,
) -> Notification | None:
    raise NotImplementedError


def group_refresh(*, recipient_id: int, kind: Kind, target_type: str, target_id: int | str) -> Notification | None:
    raise NotImplementedError
