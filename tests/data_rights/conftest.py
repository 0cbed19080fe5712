import pytest
from django.core.files.base import ContentFile

from backend.core import storage
from backend.creators import services as creator_services
from tests.e2e.conftest import moto_server, s3  # noqa: F401 (fixtures: both media stores on moto's S3)
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    # Feed refills and fan-out run on workers (tests/e2e); here pages read what the build stored.
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
    monkeypatch.setattr("feeds.tasks.video_fanout.delay", lambda **kwargs: None)
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: None)
    # Outbox messages stay in the table for the test to run (mail: ``smtp_inbox.deliver()``).
    monkeypatch.setattr("backend.core.outbox._send_now", lambda message_id: None)


def stored(store, name: str, content: bytes = b"data") -> str:
    return store.save(name, ContentFile(content))


def listing() -> dict[str, set[str]]:
    """Every file in both stores, by store."""
    return {
        "private": set(storage.names_under(storage.private(), "")),
        "public": set(storage.names_under(storage.public(), "")),
    }


def request_deletion(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        creator_services.account_deletion_request(user=user, password=PASSWORD)
