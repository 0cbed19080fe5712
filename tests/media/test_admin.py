"""The media admin: moderators retry failed renders and cancel queued ones through the services."""

import pytest
from django.urls import reverse

from tests.factories import RenderJobFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_render_admin_retries_failed_and_cancels_queued_jobs(client, monkeypatch):
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: None)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    user = UserFactory()
    failed = RenderJobFactory(requester=user, status="failed", error_code="provider_failed")
    queued = RenderJobFactory(requester=user)
    changelist = reverse("admin:media_renderjob_changelist")
    client.post(changelist, {"action": "retry_jobs", "_selected_action": [failed.id]})
    client.post(changelist, {"action": "cancel_jobs", "_selected_action": [queued.id]})
    failed.refresh_from_db()
    queued.refresh_from_db()
    assert (failed.status, failed.error_code) == ("queued", "")
    assert (queued.status, queued.error_code) == ("cancelled", "cancelled_by_moderator")
    assert client.get(changelist, {"status__exact": "cancelled"}).status_code == 200
