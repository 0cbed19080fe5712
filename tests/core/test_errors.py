"""Every 4xx kind comes in the one envelope: {"error": {"code", "message", "details", "request_id"}}."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["request_id"] == response["X-Request-ID"]
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_validation_error(api_client):
    error = assert_envelope(api_client.post("/api/v1/auth/register", {}, format="json"), 400, "invalid")
    assert set(error["details"]) == {"email", "password", "handle"}


def test_malformed_json_is_a_parse_error(api_client):
    response = api_client.post("/api/v1/test/echo", data="{not json", content_type="application/json")
    assert_envelope(response, 400, "parse_error")


def test_not_authenticated(api_client):
    assert_envelope(api_client.get("/api/v1/me"), 401, "not_authenticated")


def test_permission_denied(client_for, user):
    assert_envelope(client_for(user).get("/api/v1/test/forbidden"), 403, "permission_denied")


def test_not_found_from_a_view_and_from_an_unknown_path(api_client):
    assert_envelope(api_client.get("/api/v1/test/django-404"), 404, "not_found")
    assert_envelope(api_client.get("/api/v1/no/such/path"), 404, "not_found")


@pytest.mark.urls("backend.urls")
@pytest.mark.parametrize("path", ["creators/%00", "creators/a%00b/follow", "creators/a%20b/videos", "hashtags/%00"])
def test_a_name_no_creator_or_hashtag_can_have_is_not_found(client_for, user, path):
    assert_envelope(client_for(user).get(f"/api/v1/{path}"), 404, "not_found")


def test_method_not_allowed(api_client):
    assert_envelope(api_client.put("/api/v1/auth/register", {}, format="json"), 405, "method_not_allowed")


def test_unsupported_media_type(api_client):
    response = api_client.post("/api/v1/auth/register", data="a=b", content_type="text/csv")
    assert_envelope(response, 415, "unsupported_media_type")


def test_domain_error_keeps_its_code_and_details(api_client):
    error = assert_envelope(api_client.get("/api/v1/test/conflict"), 409, "already_done")
    assert error["details"] == {"id": 7}


def test_a_crash_is_a_500_in_the_envelope_without_internals():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/test/crash")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "a bug" not in response.content.decode()


class TestThrottling:
    def test_anonymous_callers_are_throttled(self, api_client, monkeypatch):
        monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "auth": "100/min"})
        statuses = [api_client.get("/api/v1/creators/nobody").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        error = assert_envelope(api_client.get("/api/v1/creators/nobody"), 429, "throttled")
        assert error["details"]["retry_after_seconds"] > 0

    def test_each_user_has_their_own_budget(self, client_for, monkeypatch):
        from tests.factories import UserFactory

        monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min"})
        ana, bea = client_for(UserFactory()), client_for(UserFactory())
        assert [ana.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
        assert bea.get("/api/v1/me").status_code == 200

    def test_login_attempts_have_a_tighter_budget(self, api_client, monkeypatch):
        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
        monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "100/min"})
        body = {"email": "x@example.com", "password": "nope-nope-nope"}
        statuses = [api_client.post("/api/v1/auth/token", body, format="json").status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
