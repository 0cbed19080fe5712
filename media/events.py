"""Domain events of the media app (sending: ``backend/core/events.py``), sent on commit.

Receivers: ``notifications.receivers`` (the requester and the owners of the job's cameos are told).
"""

from backend.core.events import DomainEvent

# job_id: a render was queued; its cameos (the requested ones and those it carries from a remixed
# source or a matched reference) are the job's ``cameos``.
render_requested = DomainEvent()
# job_id, status: a render ended ``succeeded`` (its draft exists), ``failed``, ``cancelled``, or was
# ``blocked`` by policy at request time (``error_code`` says why).
render_finished = DomainEvent()
