"""Mail: a message rendered from templates in the recipient's language, sent by a worker.

A mail is three templates in any app's ``templates/`` folder: ``<name>.subject.txt``, ``<name>.txt``
and ``<name>.html`` (which may extend ``mail/base.html``), written with ``{% translate %}``; they are
rendered under ``translation.override`` with the recipient's language. Settings: ``EMAIL_URL`` (SMTP in
production; without it, files under ``var/mail/``) and ``DEFAULT_FROM_EMAIL``.

``mail_queue`` writes the mail to the outbox in the caller's transaction, and the ``core.mail_send``
task sends it, rather than sending from the request on commit: a mail is part of the change that
calls for it (a new account's verification link), so it is never lost when the process dies after the
commit or the mail server is away (the task retries with backoff); no request waits on SMTP; and a
sign-up with a taken address costs the same as one with a free address (one outbox row each), so
the answer's timing does not tell them apart.
"""

from __future__ import annotations

import logging
import smtplib
import uuid

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from backend.core import outbox
from backend.core.i18n import supported

logger = logging.getLogger(__name__)

SENT_KEY_TTL_S = 7 * 24 * 3600


def mail_queue(*, to: str, template: str, context: dict, language: str = "") -> None:
    """Send the mail ``template`` to ``to`` once the caller's transaction commits (``context``: JSON values)."""
    outbox.enqueue(mail_send, to=to, template=template, context=context, language=language, key=uuid.uuid4().hex)


def message_build(*, to: str, template: str, context: dict, language: str = "") -> EmailMultiAlternatives:
    with translation.override(supported(language)):  # a language no longer offered: LANGUAGE_CODE
        # A subject is one line, whatever the template's layout.
        subject = " ".join(render_to_string(f"{template}.subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message


def _transient(error: Exception) -> bool:
    """The server was away or said "try later" (4xx); a 5xx refusal will not change by retrying."""
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    return isinstance(error, (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError))


@shared_task(bind=True, name="core.mail_send", acks_late=True, ignore_result=True, max_retries=8)
def mail_send(self, *, to: str, template: str, context: dict, language: str = "", key: str = "") -> None:
    """Render and send one mail. A redelivered message whose mail went out is skipped (the key is recorded
    after sending: a worker dying between the two sends it twice rather than never)."""
    sent_key = f"mail-sent:{key}"
    if key and cache.get(sent_key):
        return
    try:
        message_build(to=to, template=template, context=context, language=language).send()
    except Exception as error:
        if not _transient(error) or self.request.retries >= self.max_retries:
            logger.error("mail %s to %s not sent: %s", template, to, error)
            raise
        retries = self.request.retries
        countdown = get_exponential_backoff_interval(factor=5, retries=retries, maximum=600, full_jitter=True)
        raise self.retry(exc=error, countdown=countdown) from error
    if key:
        cache.set(sent_key, 1, timeout=SENT_KEY_TTL_S)
