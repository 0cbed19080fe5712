"""DELETE /me end to end: at once the account's videos leave every surface, its cameo stops being usable,
renders with it stop and others' videos with its likeness are withdrawn; signing in during the grace period
brings all of it back; an account inactive for another reason stays refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.models import AuditLogEntry
from backend.creators.models import User
from backend.videos.models import Video
from feeds import services as feed_services
from feeds import store
from media.models import RenderJob
from tests.data_rights.conftest import request_deletion
from tests.factories import PASSWORD, AppearanceFactory, CameoFactory, RenderJobFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def feed_ids(client) -> list[int]:
    served, cursor = [], None
    for _ in range(20):
        body = client.get("/api/v1/feed", {"cursor": cursor} if cursor else {}).json()
        served += [card["id"] for card in body["results"]]
        cursor = body["next"]
        if not cursor:
            break
    return served


@pytest.fixture
def world():
    """Someone about to leave, with a post and a cameo; another creator's post and running render with it."""
    leaving, other, viewer = UserFactory(), UserFactory(), UserFactory()
    own_post = VideoFactory(owner=leaving)
    cameo = CameoFactory(owner=leaving, audience="everyone")
    with_likeness = VideoFactory(owner=other)
    AppearanceFactory(cameo=cameo, video=with_likeness)
    unrelated = VideoFactory(owner=other)
    running = RenderJobFactory(requester=other, status="running", attempts=1, started_at=timezone.now())
    running.cameos.add(cameo)
    own_render = RenderJobFactory(requester=leaving)
    return {
        "leaving": leaving, "other": other, "viewer": viewer, "own_post": own_post, "cameo": cameo,
        "with_likeness": with_likeness, "unrelated": unrelated, "running": running, "own_render": own_render,
    }  # fmt: skip


def render_with(client, cameo, key):
    body = {"prompt": "a walk on the beach", "duration_s": 5, "cameo_ids": [cameo.id]}
    return client.post("/api/v1/renders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_anonymous_is_refused(api_client):
    assert api_client.delete(ME, {"password": PASSWORD}, format="json").status_code == 401


def test_a_wrong_or_missing_password_is_refused_and_nothing_changes(client_for, user):
    wrong = client_for(user).delete(ME, {"password": "not it"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "password_invalid")
    missing = client_for(user).delete(ME, {}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["error"]["details"]
    user.refresh_from_db()
    assert user.is_active and user.deletion_requested_at is None


def test_deleting_the_account_takes_it_off_every_surface_at_once(
    client_for, world, django_capture_on_commit_callbacks, smtp_inbox
):
    viewer, other, leaving = client_for(world["viewer"]), client_for(world["other"]), client_for(world["leaving"])
    feed_services.feed_build(user=world["viewer"])
    every = {world["own_post"].id, world["with_likeness"].id, world["unrelated"].id}
    assert store.for_you_ids(world["viewer"].id) == every

    with django_capture_on_commit_callbacks(execute=True):
        response = leaving.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    user = User.objects.get(id=world["leaving"].id)
    assert not user.is_active and user.deletion_requested_at is not None
    # Its posts and others' posts showing its likeness leave the stored feed, the detail and its page.
    assert feed_ids(viewer) == [world["unrelated"].id]
    for video in (world["own_post"], world["with_likeness"]):
        assert viewer.get(f"/api/v1/videos/{video.id}").status_code == 404
    assert viewer.get(f"/api/v1/creators/{user.handle}").status_code == 404
    assert viewer.get(f"/api/v1/creators/{user.handle}/videos").status_code == 404
    withdrawn = Video.objects.get(id=world["with_likeness"].id)
    assert withdrawn.withdrawn_reason == "consent"
    # Its cameo cannot be used, and the render that was using it, and its own, stopped.
    refused = render_with(other, world["cameo"], "after-deletion")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cameo_not_allowed")
    assert refused.json()["error"]["details"]["reason"] == "owner_inactive"
    assert other.get("/api/v1/cameos/available").json()["results"] == []
    assert RenderJob.objects.get(id=world["running"].id).status == "cancelled"
    assert RenderJob.objects.get(id=world["own_render"].id).status == "cancelled"
    # Signed out everywhere: the access token it had no longer works.
    assert leaving.get(ME).status_code == 401
    assert AuditLogEntry.objects.filter(action="account.deletion_request", target_id=str(user.id)).exists()
    # The owner is told when it will be erased, and how to change their mind.
    (mail,) = smtp_inbox.deliver()
    purge_on = user.deletion_requested_at + timedelta(days=30)
    assert mail.to == [user.email] and f"{purge_on:%Y-%m-%d}" in mail.text and "Sign in before then" in mail.text


def test_a_suspended_account_may_still_ask(client_for, user):
    user.suspended_until = timezone.now() + timedelta(days=3)
    user.save(update_fields=["suspended_until"])
    assert client_for(user).delete(ME, {"password": PASSWORD}, format="json").status_code == 204


def test_signing_in_during_the_grace_period_restores_everything(
    api_client, client_for, world, django_capture_on_commit_callbacks
):
    request_deletion(world["leaving"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/token", {"email": world["leaving"].email.upper(), "password": PASSWORD}, format="json"
        )

    assert response.status_code == 200 and response.json()["access"]
    user = User.objects.get(id=world["leaving"].id)
    assert user.is_active and user.deletion_requested_at is None
    viewer = client_for(world["viewer"])
    for video in (world["own_post"], world["with_likeness"]):
        assert viewer.get(f"/api/v1/videos/{video.id}").status_code == 200
    assert Video.objects.get(id=world["with_likeness"].id).withdrawn_at is None
    feed_services.feed_build(user=world["viewer"])
    assert set(feed_ids(viewer)) == {world["own_post"].id, world["with_likeness"].id, world["unrelated"].id}
    assert render_with(client_for(world["other"]), world["cameo"], "after-restore").status_code == 201
    # What was cancelled stays cancelled: a render is asked for again.
    assert RenderJob.objects.get(id=world["running"].id).status == "cancelled"


def test_a_wrong_password_restores_nothing(api_client, user, django_capture_on_commit_callbacks):
    request_deletion(user, django_capture_on_commit_callbacks)
    response = api_client.post("/api/v1/auth/token", {"email": user.email, "password": "not it"}, format="json")
    assert response.status_code == 401
    user.refresh_from_db()
    assert not user.is_active and user.deletion_requested_at is not None


def test_an_account_inactive_for_another_reason_or_past_its_grace_period_stays_refused(
    api_client, settings, django_capture_on_commit_callbacks
):
    disabled = UserFactory()
    User.objects.filter(id=disabled.id).update(is_active=False)
    late = UserFactory()
    request_deletion(late, django_capture_on_commit_callbacks)
    User.objects.filter(id=late.id).update(
        deletion_requested_at=timezone.now() - timedelta(days=settings.ACCOUNT_PURGE_DAYS, minutes=1)
    )
    for account in (disabled, late):
        response = api_client.post("/api/v1/auth/token", {"email": account.email, "password": PASSWORD}, format="json")
        assert response.status_code == 401
        assert not User.objects.get(id=account.id).is_active
