"""Error reports: what Sentry would receive carries no prompt, email, token, cookie or sensitive body."""

import json

from backend.core.redaction import sentry_before_send


def sentry_event(url: str) -> dict:
    """An event shaped as sentry-sdk's Django and logging integrations build it."""
    return {
        "level": "error",
        "logger": "django.request",
        "message": "Internal Server Error: render for maya@example.com",
        "request": {
            "url": url,
            "method": "POST",
            "query_string": "token=cog-upload-token&page=2",
            "headers": {
                "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl",
                "Cookie": "sessionid=abc123session",
                "X-Request-ID": "req-1",
                "User-Agent": "Remix/3.1 (iPhone)",
            },
            "cookies": {"sessionid": "abc123session"},
            "data": {"prompt": "my private draft prompt", "duration_s": 4},
        },
        "user": {"id": "42", "email": "maya@example.com", "ip_address": "203.0.113.9"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "provider refused api_key=sk-veo-secret for maya@example.com",
                    "stacktrace": {"frames": [{"function": "render_job_execute", "vars": {"prompt": "a secret"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "login password=hunter2-horse"}]},
        "extra": {"email": "maya@example.com", "job_id": "j-1"},
    }


def test_a_report_loses_prompts_emails_tokens_cookies_and_sensitive_bodies():
    event = sentry_before_send(sentry_event("https://api.remix.example/api/v1/renders"), {})

    text = json.dumps(event)
    for secret in (
        "maya@example.com",
        "my private draft prompt",
        "a secret",
        "cog-upload-token",
        "eyJhbGciOiJIUzI1NiJ9",
        "abc123session",
        "sk-veo-secret",
        "hunter2-horse",
        "203.0.113.9",
    ):
        assert secret not in text, secret
    request = event["request"]
    assert "data" not in request and "cookies" not in request
    assert request["headers"]["Authorization"] == request["headers"]["Cookie"] == "[redacted]"
    # What an operator needs stays.
    assert request["headers"]["X-Request-ID"] == "req-1"
    assert request["query_string"] == "token=[redacted]&page=2"
    assert event["user"] == {"id": "42"}
    assert event["extra"]["job_id"] == "j-1"
    assert event["exception"]["values"][0]["type"] == "ValueError"


def test_a_body_of_another_endpoint_stays_with_its_secret_fields_redacted():
    raw = sentry_event("https://api.remix.example/api/v1/reports")
    raw["request"]["data"] = {"reason": "spam", "password": "hunter2-horse"}

    event = sentry_before_send(raw, {})

    assert event["request"]["data"] == {"reason": "spam", "password": "[redacted]"}


def test_a_token_in_the_url_s_path_is_redacted():
    event = sentry_before_send(sentry_event("https://api.remix.example/api/v1/uploads/cog/upload-secret/out.mp4"), {})

    assert event["request"]["url"] == "https://api.remix.example/api/v1/uploads/cog/[redacted]/out.mp4"
