"""Requests: hostile bodies and unknown paths get a 4xx in the envelope, never a 500 or an HTML page.

Each test is the attack: a body nested thousands deep on the unauthenticated endpoints, an
oversized body, unknown /api/ paths and a crash with DEBUG on.
"""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from backend.core.errors import PayloadTooLarge, TooDeeplyNested
from backend.core.parsers import LimitedJSONParser, nesting_depth

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def nested(depth: int, *, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def anonymous():
    # A 500 must show as a response here, not as an exception raised into the test.
    return APIClient(raise_request_exception=False)


@pytest.mark.parametrize("endpoint", ["/api/v1/auth/token", "/api/v1/auth/register", "/api/v1/auth/token/refresh"])
@pytest.mark.parametrize("body", [nested(1000), nested(100_000), nested_objects(5000)], ids=["1k", "100k", "objects"])
def test_deeply_nested_json_on_unauthenticated_endpoints_is_a_400(anonymous, endpoint, body):
    response = anonymous.post(endpoint, data=body, content_type="application/json")
    assert_envelope(response, 400, "too_deeply_nested")


# The parser that the API uses (LimitedJSONParser), through a view.


class Echo(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = [LimitedJSONParser]

    def post(self, request):
        return Response({"echo": request.data})


def post_json(raw: str | bytes):
    request = APIRequestFactory().post("/api/v1/echo", data=raw, content_type="application/json")
    response = Echo.as_view()(request)
    response.render()
    return response


def test_nesting_past_the_limit_is_refused_before_decoding(settings):
    settings.API_JSON_MAX_DEPTH = 8
    assert post_json(json.dumps({"a": [[[1]]]})).status_code == 200
    assert post_json(nested(8)).status_code == 200
    error = assert_envelope(post_json(nested(9)), 400, "too_deeply_nested")
    assert error["details"] == {"max_depth": 8}
    assert_envelope(post_json(nested_objects(9)), 400, "too_deeply_nested")


def test_the_default_limit_refuses_a_few_hundred_levels():
    assert post_json(nested(32)).status_code == 200
    assert_envelope(post_json(nested(33)), 400, "too_deeply_nested")
    assert_envelope(post_json(nested(500)), 400, "too_deeply_nested")


def test_brackets_inside_strings_do_not_count(settings):
    settings.API_JSON_MAX_DEPTH = 4
    text = "[" * 50 + '\\"{' * 50
    response = post_json(json.dumps({"comment": text, "list": [text]}))
    assert response.status_code == 200
    assert response.data["echo"]["comment"] == text


def test_malformed_json_is_still_a_parse_error():
    assert_envelope(post_json("{not json"), 400, "parse_error")
    assert_envelope(post_json("[" * 40 + "]" * 39 + "}"), 400, "too_deeply_nested")  # too deep is checked first
    assert_envelope(post_json("[" * 40 + "}"), 400, "parse_error")
    assert_envelope(post_json('["unterminated'), 400, "parse_error")


def test_an_oversized_body_is_a_413_in_the_envelope(settings):
    settings.API_JSON_MAX_BYTES = 1000
    assert post_json(json.dumps({"text": "x" * 900})).status_code == 200
    error = assert_envelope(post_json(json.dumps({"text": "x" * 5000})), 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1000}


def test_nesting_depth_is_exact_and_fast():
    body = b'{"a": [1, {"b": []}], "c": "]]]][[[["}'  # four levels; the string's brackets do not count
    assert nesting_depth(body, limit=2) == 3  # counting stops one past the limit
    assert nesting_depth(body, limit=3) == 4
    assert nesting_depth(body, limit=4) <= 4
    assert nesting_depth(b"[[], [[]], {}]", limit=1) == 2  # three deep: past the limit, one more than it
    assert nesting_depth(b"[]" * 1_000_000, limit=32) == 1
    assert nesting_depth(b"[" * 2_000_000, limit=32) == 0  # never closed: left to the decoder's ParseError
    assert nesting_depth(b"[" * 2_000_000 + b"]" * 2_000_000, limit=32) == 33


def test_parser_unit_errors():
    parser = LimitedJSONParser()
    with pytest.raises(TooDeeplyNested):
        parser.parse(io.BytesIO(nested(2000).encode()), "application/json", {})
    with pytest.raises(PayloadTooLarge):
        parser.parse(io.BytesIO(b"[" + b"1," * 2_000_000 + b"1]"), "application/json", {})


# Every /api/ response is JSON in the envelope, whatever DEBUG says.


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/no/such/path", "/api/v1/feed/", "/api/v2/feed", "/api/"])
def test_unknown_api_paths_are_a_json_404(anonymous, settings, debug, method, path):
    settings.DEBUG = debug
    response = getattr(anonymous, method)(path)
    assert_envelope(response, 404, "not_found")
    assert b"<html" not in response.content.lower()


@pytest.mark.urls("tests.core.urls")
@pytest.mark.parametrize("debug", [True, False])
def test_a_crash_is_a_json_500_even_with_debug(anonymous, settings, debug):
    settings.DEBUG = debug
    response = anonymous.get("/api/v1/test/crash")
    assert_envelope(response, 500, "server_error")
    assert "a bug" not in response.content.decode()


@pytest.mark.parametrize("endpoint", ["/api/v1/renders", "/api/v1/cameos"])
def test_views_with_their_own_parsers_enforce_the_limit_too(client_for, user, endpoint):
    client = client_for(user)
    headers = {"HTTP_IDEMPOTENCY_KEY": "deep-1"}
    response = client.post(endpoint, data=nested_objects(40), content_type="application/json", **headers)
    assert_envelope(response, 400, "too_deeply_nested")
