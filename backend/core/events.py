"""Domain events: how a lower app makes a higher one act without importing it.

An app announces what happened (``video_hidden``, ``consent_withdrawn``); apps above it
connect receivers in their ``receivers.py``, imported by their ``AppConfig.ready``.

Two ways to send, chosen by what the reaction must share with the cause:
- ``send_on_commit``: after the transaction commits (feeds, files, cancelling renders). Receivers
  never run for a change that was rolled back.
- ``send``: at once, inside the caller's transaction, for reactions that must commit or roll back
  with the cause (a block revokes cameo grants; a deleted cameo takes its videos down). Such a
  receiver's failure fails the cause.

An event sent on commit also fires its ``in_transaction`` signal at once, inside the cause's
transaction: a reaction that must never be lost (a fan-out, a notification) connects there and
writes its outbox message with the cause, so a process dying right after the commit loses nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal


class DomainEvent(Signal):
    def __init__(self) -> None:
        super().__init__()
        self.in_transaction = Signal()

    def send_on_commit(self, **payload) -> None:
        self.in_transaction.send(sender=None, **payload)
        transaction.on_commit(lambda: self.send(sender=None, **payload))
