"""The OpenAPI schema's error responses: every operation documents the one error envelope
(``backend/core/errors.py``) for each 4xx and 503 it can answer, with the codes it may carry.

Which statuses an operation can answer follows from what the rules in ``core`` apply to it,
so no view repeats them:

- 400 ``invalid`` (and the parsers' codes) when it takes a body or query parameters;
- 401 when it needs a signed-in caller (an operation open to anonymous callers has none);
- 403 ``account_suspended`` / ``email_unverified`` where ``core.permissions`` applies them;
- 404 ``not_found`` when its path names something;
- 413 and 415 when it takes a body; 429 when a throttle applies; 503 always (a store out of reach).

A view adds the codes only its own rules give, per method, with
``@extend_schema(extensions=error_codes({409: ["render_finished"]}))``; a status it names that
the rules above do not give (a 409) is documented too.

The codes are listed per response in ``x-error-codes`` (and in its description), not as a closed
enum in the envelope: a generated client refuses an enum value it does not know, so a code added
later would break every app built before it.
"""

from __future__ import annotations

import re
from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance, is_serializer
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from backend.core.permissions import ALLOWED_WHILE_SUSPENDED, VERIFIED_EMAIL_REQUIRED

ERROR_CODES_KEY = "x-error-codes"

STATUS_DESCRIPTIONS = {
    400: "The input is not valid, or a rule refused it.",
    401: "No valid credentials: sign in, or refresh the access token.",
    403: "The caller may not do this.",
    404: "Not found, or not visible to the caller (the two look the same).",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    415: "The body's Content-Type is not one this operation reads.",
    429: "Too many requests: try again after Retry-After seconds.",
    503: "A store the request needs is out of reach for a moment: try again after Retry-After seconds.",
}


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: the response's x-error-codes lists them.")
    message = serializers.CharField(help_text="For people; may change, never parse it.")
    details = serializers.DictField(
        help_text="Depends on the code: for `invalid`, each field's messages; for `throttled`, retry_after_seconds."
    )
    request_id = serializers.CharField(allow_null=True, help_text="Quote it in a report: it finds the request's logs.")


class ErrorEnvelope(serializers.Serializer):
    error = ErrorOutput()


def error_codes(by_status: dict[int, list[str]]) -> dict:
    """The ``extensions`` of an ``extend_schema``: the codes a view's own rules give, by status."""
    return {ERROR_CODES_KEY: {str(status): list(codes) for status, codes in by_status.items()}}


@cache
def _url_names() -> dict[str, str]:
    """URL name of every route, by the path drf-spectacular writes for it (``/api/v1/cameos/{cameo_id}``)."""
    names: dict[str, str] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names["/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = pattern.name

    walk(get_resolver().url_patterns, "")
    return names


class AutoSchema(SpectacularAutoSchema):
    def map_parsers(self):
        """One content type per body: multipart where it may carry a file, JSON otherwise.

        The views read JSON, multipart and forms alike (DRF's parsers), but a body documented under
        several content types is more than generated clients handle: openapi-python-client sends one
        schema documented three ways as a form, and two schemas two ways not at all (its code for them
        does not import). So the schema names the one each operation is built for.
        """
        types = super().map_parsers()
        serializer = self.get_request_serializer()
        serializer = force_instance(serializer) if is_serializer(serializer) else None
        serializer = getattr(serializer, "child", serializer)  # a list body: its items' fields
        fields = serializer.fields.values() if isinstance(serializer, serializers.Serializer) else ()
        files = any(isinstance(field, serializers.FileField) for field in fields)
        wanted = "multipart/form-data" if files else "application/json"
        return [wanted] if wanted in types else types

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        declared = operation.pop(ERROR_CODES_KEY, {})
        codes = self._inferred_error_codes(operation)
        for status, extra in declared.items():
            codes.setdefault(int(status), [])
            codes[int(status)] += [code for code in extra if code not in codes[int(status)]]
        envelope = self.resolve_serializer(ErrorEnvelope, "response").ref
        for status in sorted(codes):
            if str(status) in operation["responses"]:
                continue  # the view documented it itself
            listed = ", ".join(f"`{code}`" for code in codes[status])
            operation["responses"][str(status)] = {
                "description": f"{STATUS_DESCRIPTIONS.get(status, 'Refused.')} Codes: {listed}.",
                "content": {"application/json": {"schema": envelope}},
                ERROR_CODES_KEY: codes[status],
            }
        return operation

    def _inferred_error_codes(self, operation: dict) -> dict[int, list[str]]:
        codes: dict[int, list[str]] = {}
        takes_body = "requestBody" in operation
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        if takes_body or query:
            codes[400] = ["invalid"] + (["parse_error", "too_deeply_nested"] if takes_body else [])
        security = operation.get("security")
        anonymous = not security or {} in security
        if not anonymous:
            codes[401] = ["not_authenticated", "authentication_failed", "token_not_valid"]
        url_name = _url_names().get(self.path)
        if not anonymous and self.method not in SAFE_METHODS:
            forbidden = []
            if self.method not in ALLOWED_WHILE_SUSPENDED.get(url_name, ()):
                forbidden.append("account_suspended")
            if self.method in VERIFIED_EMAIL_REQUIRED.get(url_name, ()):
                forbidden.append("email_unverified")
            if forbidden:
                codes[403] = forbidden
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            codes[404] = ["not_found"]
        if takes_body:
            multipart = "multipart/form-data" in operation["requestBody"].get("content", {})
            codes[413] = ["payload_too_large"] + (["file_too_large"] if multipart else [])
            codes[415] = ["unsupported_media_type"]
        if self.view.get_throttles():
            codes[429] = ["throttled"]
        codes[503] = ["database_unavailable", "cache_unavailable"]
        return codes
