"""Send the outbox's waiting messages to the broker (``backend/core/outbox.py``), until stopped.

Runs beside the web and the workers (``make run``, compose's ``relay``). It outlives outages: a
broker away leaves the messages waiting, a database away is retried, and more than one relay may
run (they skip each other's rows).
"""

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from backend.core import outbox

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Relay the outbox's waiting messages to the broker every OUTBOX_RELAY_INTERVAL_S, until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is waiting now, then exit")

    def handle(self, *args, once: bool = False, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.is_set():
            try:
                while outbox.messages_relay() and not stop.is_set():
                    pass  # a full batch went: there may be more
            except DatabaseError:
                logger.warning("outbox relay: database unavailable; retrying", exc_info=True)
                close_old_connections()
            if once:
                return
            stop.wait(settings.OUTBOX_RELAY_INTERVAL_S)
