"""core.mail: templates in the recipient's language, the outbox, and the task against a real SMTP server."""

import pytest
from django.db import transaction

from backend.core.mail import mail_queue, mail_send
from backend.core.models import OutboxMessage

pytestmark = pytest.mark.django_db

SIGNUP_ATTEMPT = {"template": "creators/mail/signup_attempt", "context": {"handle": "maya"}}


def test_a_queued_mail_is_written_with_the_change_and_sent_as_text_and_html(smtp_inbox):
    with transaction.atomic():
        mail_queue(to="maya@example.com", **SIGNUP_ATTEMPT)
    [message] = OutboxMessage.objects.filter(task="core.mail_send")
    assert message.kwargs["to"] == "maya@example.com"

    [mail] = smtp_inbox.deliver()
    assert mail.to == ["maya@example.com"]
    assert mail.subject == "Someone tried to sign up with your address"
    assert "@maya" in mail.text and "<p>" not in mail.text
    assert "@maya" in mail.html and "<p>" in mail.html
    assert mail.message["From"] == "Remix <no-reply@remix.local>"


def test_nothing_is_sent_for_a_change_that_rolled_back(smtp_inbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        mail_queue(to="maya@example.com", **SIGNUP_ATTEMPT)
        raise RuntimeError
    assert smtp_inbox.deliver() == []


def test_the_task_run_twice_sends_the_mail_once(smtp_inbox):
    kwargs = {"to": "maya@example.com", "language": "", "key": "k-1", **SIGNUP_ATTEMPT}
    mail_send(**kwargs)
    mail_send(**kwargs)
    assert len(smtp_inbox.received) == 1


def test_a_mail_the_server_defers_is_retried(smtp_inbox, monkeypatch):
    answers = iter(["421 Try again later", None])
    accept = smtp_inbox.handle_DATA

    async def defer_once(server, session, envelope):
        answer = next(answers)
        return answer or await accept(server, session, envelope)

    monkeypatch.setattr(smtp_inbox, "handle_DATA", defer_once)
    result = mail_send.apply(kwargs={"to": "maya@example.com", "key": "k-2", **SIGNUP_ATTEMPT})
    assert result.successful()
    assert [mail.to for mail in smtp_inbox.received] == [["maya@example.com"]]


def test_a_mail_the_server_refuses_for_good_is_not_retried(smtp_inbox, monkeypatch):
    calls = []

    async def refuse(server, session, envelope):
        calls.append(1)
        return "550 No such user"

    monkeypatch.setattr(smtp_inbox, "handle_DATA", refuse)
    result = mail_send.apply(kwargs={"to": "ghost@example.com", "key": "k-3", **SIGNUP_ATTEMPT})
    assert result.failed() and len(calls) == 1
