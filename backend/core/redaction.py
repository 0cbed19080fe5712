"""What never leaves the process: tokens, passwords, emails, prompts.

One set of rules serves the logs (``backend.core.logs.RedactingFilter``, a safety net under code that
already logs ids, not values) and the error reports (``sentry_before_send``). Redaction replaces a
value, never the key beside it, so a reader still sees that a token was there.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"

# Keys whose values are secret or private wherever they appear: a dict's key, a form field, a header,
# ``key=value`` in a message. ``code`` only in a query string: elsewhere it is an error's code.
_SECRET_KEY_WORDS = (
    r"[\w-]*(?:password|passwd|secret|token|signature|credential|api[_-]?key|prompt|email)[\w-]*|authorization|cookie"
)
_SECRET_KEY = re.compile(rf"^(?:{_SECRET_KEY_WORDS})$", re.IGNORECASE)
_QUERY_SECRET_KEY = re.compile(rf"^(?:{_SECRET_KEY_WORDS}|code|x-amz-[\w-]+)$", re.IGNORECASE)

# An Authorization header's credentials; prose ("the token expired") is left alone.
_BEARER = re.compile(r"\b([Bb]earer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# key=value, key: value, "key": "value" (a logged dict or JSON body, a header line, a query string).
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?\b(?:{_SECRET_KEY_WORDS}|x-amz-[\w-]+)["']?\s*[:=]\s*)(?P<value>\[redacted\]|"[^"]*"|'[^']*'|[^\s&,;)}}\]]+)""",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _KEY_VALUE.sub(lambda match: f"{match.group('key')}{REDACTED}", text)
    return _EMAIL.sub("[email]", text)


def redact_query(query: str) -> str:
    """The query string with secret parameters' values (``token``, ``signature``, ``X-Amz-*``, ``code``) redacted."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(key, REDACTED if _QUERY_SECRET_KEY.match(key) else value) for key, value in pairs], safe="[]")


def secret_key(key: object) -> bool:
    """Whether values under this name (a dict key, a header, a URL parameter) are secret."""
    return isinstance(key, str) and _SECRET_KEY.match(key) is not None


def scrub(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secret keys' values and secret-shaped text redacted."""
    if isinstance(value, dict):
        return {key: REDACTED if secret_key(key) else scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


# Request bodies that hold prompts, passwords, tokens or likeness data: an error report never carries them.
SENSITIVE_BODY_PATHS = (
    "/api/v1/auth/",
    "/api/v1/me",
    "/api/v1/renders",
    "/api/v1/videos/",
    "/api/v1/cameos",
    "/api/v1/feed/preferences",
    "/api/v1/webhooks/",
    "/api/v1/provenance/",
    "/api/v1/uploads",
    "/api/v1/devices",
    "/admin/",
)
# URLs whose path carries a token (the access log finds them by URL parameter name; an event has only its URL).
_TOKEN_IN_PATH = re.compile(r"(/media/private/|/api/v1/uploads/cog/|/api/v1/devices/)[^/?#]+")


def sentry_before_send(event: dict, hint: dict | None = None) -> dict:
    """Sentry's ``before_send``: the event without prompts, emails, tokens, cookies or sensitive bodies."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        url = request.get("url") or ""
        if any(path in url for path in SENSITIVE_BODY_PATHS):
            request.pop("data", None)
        request["url"] = _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", url)
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_query(request["query_string"])
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return scrub(event)
