"""A real SMTP server for tests: aiosmtpd on a free port, with Django's EMAIL_* settings pointed at it.

``smtp_inbox`` starts it for one test. Mail is sent the production way: services write it to the
outbox and the ``core.mail_send`` task sends it over SMTP; ``smtp_inbox.deliver()`` runs that task for
the waiting mail messages (as a worker would, in this process) and returns what the server received.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from backend.core.mail import mail_send
from backend.core.models import OutboxMessage
from backend.settings import email_settings

_LINK = re.compile(r"https?://\S+")


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str
    html: str
    message: EmailMessage

    @property
    def link(self) -> str:
        """The one link of the text part (every account mail has at most one)."""
        return _LINK.search(self.text).group(0)

    def link_param(self, name: str) -> str:
        return parse_qs(urlsplit(self.link).query)[name][0]


class Inbox:
    def __init__(self) -> None:
        self.received: list[Mail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        mail = Mail(
            to=list(envelope.rcpt_tos),
            subject=str(message["Subject"]),
            text=text.get_content() if text else "",
            html=html.get_content() if html else "",
            message=message,
        )
        with self._lock:
            self.received.append(mail)
        return "250 Message accepted for delivery"

    def deliver(self) -> list[Mail]:
        """Send every mail waiting in the outbox through the SMTP server; the mails that arrived."""
        before = len(self.received)
        for message in OutboxMessage.objects.filter(task=mail_send.name).order_by("id"):
            mail_send(**message.kwargs)
            message.delete()
        return self.received[before:]

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in self.received if address in mail.to]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings, tmp_path):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in email_settings(f"smtp://127.0.0.1:{port}", var_dir=tmp_path).items():
        setattr(settings, name, value)
    try:
        yield inbox
    finally:
        controller.stop()
