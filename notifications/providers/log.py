"""The default provider: writes each push to the log instead of sending it (development, tests, benchmarks)."""

from __future__ import annotations

import logging

from notifications.providers.base import PushMessage

logger = logging.getLogger(__name__)


class LogProvider:
    name = "log"

    def send(self, device_token: str, message: PushMessage) -> None:
        # The token is a credential of sorts (whoever has it can push to the phone): only its tail is logged.
        logger.info("push to …%s: %s | %s | %s", device_token[-6:], message.title, message.body, message.data)
