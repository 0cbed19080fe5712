"""Login and sign-up, written as the attacks: password guessing on the admin and the API, enumeration."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import UserFactory


@pytest.fixture
def auth_rates(monkeypatch):
    # DRF binds the rates at import: patch the live dict with the defaults the attacks meet.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "10/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth_account", "20/hour")


@pytest.mark.django_db
def test_25_wrong_admin_passwords_meet_a_lockout_with_retry_after(client, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 10
    admin = UserFactory(is_staff=True, is_superuser=True)
    admin.set_password("the-real-password-2026")
    admin.save()
    statuses = []
    for attempt in range(25):
        response = client.post("/admin/login/?next=/admin/", {"username": admin.email, "password": f"guess-{attempt}"})
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10  # the form again: wrong password
    assert set(statuses[10:]) == {429}
    assert int(response["Retry-After"]) > 0
    # Locked for the account: the right password from the same attacker gets no session either.
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin.email, "password": "the-real-password-2026"}
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_admin_lockout_holds_against_rotating_addresses(client, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 10
    admin = UserFactory(is_staff=True, is_superuser=True)
    statuses = [
        client.post(
            "/admin/login/", {"username": admin.email, "password": "guess"}, REMOTE_ADDR=f"198.51.100.{n + 1}"
        ).status_code
        for n in range(12)
    ]
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_password_guessing_from_rotating_addresses_meets_the_account_limit(api_client, auth_rates):
    user = UserFactory()
    statuses = []
    for attempt in range(25):
        response = api_client.post(
            "/api/v1/auth/token",
            {"email": user.email.upper(), "password": f"guess-{attempt}"},
            REMOTE_ADDR=f"198.51.100.{attempt + 1}",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 1}",
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_sign_ups_from_one_address_meet_the_address_limit(api_client, auth_rates):
    statuses = [
        api_client.post(
            "/api/v1/auth/register",
            {"email": f"new{n}@example.com", "password": "a-long-password-2026", "handle": f"new{n}"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}",
        ).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [201] * 10
    assert set(statuses[10:]) == {429}


@pytest.mark.django_db
def test_token_refresh_meets_the_address_limit(api_client, auth_rates):
    statuses = [
        api_client.post("/api/v1/auth/token/refresh", {"refresh": "not-a-token"}).status_code for _ in range(12)
    ]
    assert set(statuses[:10]) == {401}
    assert set(statuses[10:]) == {429}


@pytest.mark.django_db
def test_registration_probe_cannot_tell_a_taken_email_from_a_free_one(api_client, client_for, smtp_inbox):
    victim = UserFactory(email="victim@example.com")

    def probe(email: str, handle: str):
        response = api_client.post(
            "/api/v1/auth/register", {"email": email, "password": "a-long-password-2026", "handle": handle}
        )
        return response.status_code, response.json()

    taken_status, taken = probe("Victim@Example.com", "probe1")
    free_status, free = probe("nobody@example.com", "probe2")
    assert taken_status == free_status == 201
    assert taken.keys() == free.keys() and taken["user"].keys() == free["user"].keys()
    assert taken["tokens"].keys() == free["tokens"].keys()
    for body, handle in ((taken, "probe1"), (free, "probe2")):
        assert body["user"]["handle"] == handle
    assert "exists" not in str(taken) and "taken" not in str(taken)
    # Nothing was created for the taken email, and its tokens open nothing.
    from backend.creators.models import User

    assert User.objects.filter(email__iexact="victim@example.com").count() == 1
    assert not User.objects.filter(handle="probe1").exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {taken['tokens']['access']}")
    assert api_client.get("/api/v1/me").status_code == 401
    assert victim.handle != "probe1"
    # Each answer queued one mail: the victim is told of the attempt, the new address gets its link.
    [told, welcomed] = smtp_inbox.deliver()
    assert told.to == ["victim@example.com"] and "verify" not in told.text
    assert welcomed.to == ["nobody@example.com"] and "verify-email?token=" in welcomed.link
    # A taken handle still says so: handles are public.
    status, body = probe("fresh@example.com", victim.handle)
    assert status == 400
