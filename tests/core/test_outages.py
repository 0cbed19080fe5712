"""PostgreSQL or Redis out of reach: every /api/ answer is an honest 503 in the envelope, /readyz names it.

The shared servers stay up: this process is pointed at a port nobody listens on (127.0.0.1:1).
"""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.workers import database_unreachable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.core.outage_urls")]

DEAD = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_unreachable(settings):
    settings.REDIS_URL = DEAD
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEAD}}


@pytest.fixture
def client():
    # Django's own 500 path: the test client must answer, not re-raise the view's exception.
    return APIClient(raise_request_exception=False)


def assert_unavailable(response, code):
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert response.json() == {
        "error": {"code": code, "message": error["message"], "details": {}, "request_id": response["X-Request-ID"]}
    }
    assert response.json()["error"]["message"]
    assert response["Retry-After"] == "5"


def healthy(checks: dict[str, str]) -> set[str]:
    return {name for name, state in checks.items() if state == "OK"}


class TestDatabaseDown:
    def test_drf_views_answer_503_database_unavailable(self, client):
        with database_unreachable():
            assert_unavailable(client.get("/api/v1/creators/somebody"), "database_unavailable")
            assert_unavailable(
                client.post("/api/v1/auth/token", {"email": "a@b.c", "password": "x"}), "database_unavailable"
            )

    def test_authentication_hitting_the_database_answers_503(self, client):
        user = UserFactory()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        with database_unreachable():
            assert_unavailable(client.get("/api/v1/me"), "database_unavailable")

    def test_outside_drf_a_plain_view_answers_503(self, client):
        with database_unreachable():
            assert_unavailable(client.get("/api/v1/test/plain-django"), "database_unavailable")
            page = client.get("/test/plain-django")
        assert page.status_code == 503
        assert page["Retry-After"] == "5"

    def test_a_middleware_hitting_the_database_answers_503(self, client, settings):
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.core.outage_urls.DatabaseMiddleware"]
        with database_unreachable():
            assert_unavailable(client.get("/api/v1/feed"), "database_unavailable")

    def test_retry_after_is_a_setting(self, client, settings):
        settings.UNAVAILABLE_RETRY_AFTER_S = 30
        with database_unreachable():
            response = client.get("/api/v1/creators/somebody")
        assert response.status_code == 503
        assert response["Retry-After"] == "30"

    def test_readyz_answers_503_naming_the_database(self, client):
        with database_unreachable():
            response = client.get("/readyz", HTTP_ACCEPT="application/json")
        assert response.status_code == 503, response.content
        checks = response.json()
        assert checks["database"] != "OK"
        assert {name for name, state in checks.items() if state == "OK"} == {
            "cache",
            "redis",
            "media_private",
            "media_public",
        }

    def test_the_service_answers_again_once_the_database_is_back(self, client):
        with database_unreachable():
            assert client.get("/api/v1/creators/somebody").status_code == 503
        assert client.get("/api/v1/creators/somebody").status_code == 404


class TestRedisDown:
    def test_a_view_that_needs_redis_answers_503_cache_unavailable(self, client, redis_unreachable):
        assert_unavailable(client.get("/api/v1/test/redis"), "cache_unavailable")

    def test_readyz_answers_503_naming_cache_and_redis(self, client, redis_unreachable):
        response = client.get("/readyz", HTTP_ACCEPT="application/json")
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "5"
        checks = response.json()
        assert checks["cache"] != "OK" and checks["redis"] != "OK"
        assert {name for name, state in checks.items() if state == "OK"} == {
            "database",
            "media_private",
            "media_public",
        }

    def test_readyz_names_a_feed_store_of_its_own_and_stays_ready_while_it_is_away(self, client, settings):
        settings.FEED_REDIS_URL = settings.REDIS_URL
        assert client.get("/readyz", HTTP_ACCEPT="application/json").json()["feed_store"] == "OK"

        settings.FEED_REDIS_URL = DEAD
        response = client.get("/readyz", HTTP_ACCEPT="application/json")
        assert response.status_code == 200, response.content  # feed pages come from PostgreSQL meanwhile
        assert response.json()["feed_store"].startswith("unreachable (ConnectionError)")

    def test_readyz_answers_200_with_every_dependency_named(self, client):
        response = client.get("/readyz", HTTP_ACCEPT="application/json")
        assert response.status_code == 200, response.content
        checks = response.json()
        assert checks.pop("media_encoder").startswith("libx264")  # informational: never fails readiness
        assert checks == dict.fromkeys(["database", "cache", "redis", "media_private", "media_public"], "OK")
