"""One small interface for every push provider: send one message to one device, or say why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PushMessage:
    """What a phone shows and what the app gets. Built by notifications/delivery.py, never holding private
    text: a lock screen shows ``title`` and ``body`` to whoever holds the phone."""

    title: str
    body: str
    # String keys and string values only (FCM refuses anything else in ``data``).
    data: dict[str, str] = field(default_factory=dict)
    # A newer message with the same key replaces the older one on the phone (an updated grouped item).
    collapse_key: str = ""


class PushError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class PushTokenDead(PushError):
    """The token will never work again (the app was uninstalled, the token expired): forget the device."""


class PushTransientError(PushError):
    """Worth trying again later. ``retry_after``: seconds the provider asked us to wait, None when it did not say."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PushRejected(PushError):
    """This message will not be delivered, and trying again will not help (a message the provider refuses)."""


class PushConfigurationError(PushRejected):
    """Our credentials or project are wrong: no device will get anything until an operator fixes them."""


class PushProvider(Protocol):
    name: str

    def send(self, device_token: str, message: PushMessage) -> None:
        """Deliver ``message`` to one device; raises PushTokenDead, PushTransientError or PushRejected."""
