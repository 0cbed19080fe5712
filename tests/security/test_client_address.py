"""Client address: a throttle keys on the connection, not on an X-Forwarded-For the client writes."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import UserFactory


@pytest.fixture
def auth_rate(monkeypatch):
    # DRF binds the rates at import: patch the live dict (the suite's default is THROTTLE_AUTH, 10/min).
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "10/min")


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_evade_the_password_throttle(api_client, auth_rate, settings):
    user = UserFactory()
    statuses = []
    for attempt in range(15):
        response = api_client.post(
            "/api/v1/auth/token",
            {"email": user.email, "password": f"wrong-guess-{attempt}"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 1}",
            REMOTE_ADDR="198.51.100.7",
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}


@pytest.mark.django_db
def test_a_declared_proxy_is_trusted_for_the_address_it_appends(api_client, auth_rate, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # Behind one proxy, each client is the address the proxy appended: eleven clients, eleven tries.
    for attempt in range(11):
        response = api_client.post(
            "/api/v1/auth/token",
            {"email": f"someone{attempt}@example.com", "password": "wrong-guess"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 1}",
            REMOTE_ADDR="10.0.0.2",
        )
        assert response.status_code == 401
