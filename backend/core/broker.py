"""kombu's Redis transport, guarded against one crash of the worker when the broker goes away.

When the broker connection drops with a task in flight, the worker closes its channels and tries to
put their unacknowledged messages back. By then kombu has released the connection, and the channel,
asked for connection parameters, reads ``None.hostname``: an ``AttributeError`` that nothing expects
(``ignore_errors`` and the consumer's reconnect loop catch connection errors only), so the worker
exits (kombu 5.7.0; the same error was reported upstream as celery/kombu#582 and #970). Here it is a
connection error like any other: the close is skipped, the consumer reconnects, and the unacked
messages come back from Redis after the visibility timeout (renders sooner, through the reaper).
"""

from __future__ import annotations

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("The broker connection was closed.")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make ``redis://`` and ``redis+socket://`` broker URLs use this transport (before any connection)."""
    TRANSPORT_ALIASES["redis"] = f"{__name__}:Transport"
