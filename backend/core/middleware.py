"""Every request: its id, one access log line, and its latency in /metrics.

The access line replaces gunicorn's (whose format cannot redact a query string): method, path with
secret parameters redacted (Cog's ``?token=`` and upload token, signed media links, presigned
``X-Amz-*``, OAuth ``code``), status, latency, user id and request id.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from backend.core import metrics
from backend.core.logs import REQUEST_ID_HEADER, request_id_accept, request_id_bound
from backend.core.redaction import REDACTED, redact_query, secret_key

access_logger = logging.getLogger("remix.access")
# Labels stay few whatever a client sends.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestObservationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_accept(request.headers.get(REQUEST_ID_HEADER))
        started = time.monotonic()
        with request_id_bound(request_id):
            response = self.get_response(request)
            seconds = time.monotonic() - started
            response[REQUEST_ID_HEADER] = request_id
            match = request.resolver_match
            route = match.route if match is not None else "unmatched"
            metrics.REQUEST_SECONDS.labels(
                route=route,
                method=request.method if request.method in _METHODS else "other",
                status=f"{response.status_code // 100}xx",
            ).observe(seconds)
            path = _logged_path(request)
            access_logger.info(
                "%s %s %s %.1fms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
        return response


def _logged_path(request: HttpRequest) -> str:
    """The path with secret URL parameters (``uploads/cog/<token>/…``, ``media/private/<token>``) and
    secret query parameters redacted."""
    path = request.path
    if request.resolver_match is not None:
        for name, value in request.resolver_match.kwargs.items():
            if secret_key(name) and isinstance(value, str) and value:
                path = path.replace(value, REDACTED)
    query = redact_query(request.META.get("QUERY_STRING", ""))
    return f"{path}?{query}" if query else path


def _user_id(request: HttpRequest) -> int | None:
    """The user a view authenticated, without loading one nobody asked for (that would cost a query)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.id if user.is_authenticated else None
