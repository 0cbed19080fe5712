"""Domain events: signals that fire only once the transaction that caused them commits.

An app announces what happened (``video_hidden``, ``consent_withdrawn``);
other apps connect receivers in their ``AppConfig.ready``. Receivers never run
for a change that was rolled back.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal


class DomainEvent(Signal):
    def send_on_commit(self, **payload) -> None:
        transaction.on_commit(lambda: self.send(sender=None, **payload))
