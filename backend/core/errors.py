"""The one error envelope: ``{"error": {"code", "message", "details", "request_id"}}``.

Services raise ``DomainError`` subclasses (or DRF's own exceptions); the API
exception handler turns every one of them into the envelope with a fitting
4xx status. Plain Django 404s and 500s under ``/api/`` get the same shape.

A database or Redis that cannot be reached is not a bug: wherever the error surfaces (a view,
authentication, a middleware), the answer is a 503 with ``Retry-After`` and the code
``database_unavailable`` or ``cache_unavailable``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status

from backend.core import logs


class DomainError(exceptions.APIException):
    """A refusal by a business rule: a stable ``code``, a message, optional details."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"
    default_detail = _("The request cannot be carried out.")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict | None = None,
        retry_after_s: int | None = None,
    ):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        # The message as given (a ``Translatable`` keeps its catalogue entry: a stored refusal is read in any language).
        self.message = message or self.default_detail
        self.details = details or {}
        if retry_after_s is not None:
            self.wait = max(1, int(retry_after_s))  # DRF's handler sends ``wait`` as Retry-After


class NotFound(DomainError):
    """Also raised for other people's private objects: never reveal they exist."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = _("Not found.")


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = _("The request conflicts with the current state.")


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"
    default_detail = _("You may not do this.")


class AccountSuspended(DomainError):
    """A suspended account may read but not write; every app refuses with this one code."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "account_suspended"
    default_detail = _("This account is suspended.")


class EmailUnverified(DomainError):
    """An account whose email is not verified may browse, but not put anything in front of others."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "email_unverified"
    default_detail = _("Verify your email address first: follow the link we sent you.")


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = _("The request body is too large.")


class TooDeeplyNested(DomainError):
    default_code = "too_deeply_nested"
    default_detail = _("The JSON body is nested too deeply.")


class ServiceUnavailable(DomainError):
    """A store the request needs cannot be reached; the client may try again after ``Retry-After``."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = _("The service is unavailable for a moment; try again shortly.")


# OperationalError also covers a lost or refused connection (psycopg's), InterfaceError a
# connection closed under the request. A failed query of ours is a ProgrammingError or
# IntegrityError and stays a 500 (or the 4xx its service maps it to).
_DATABASE_DOWN = (OperationalError, InterfaceError)
_CACHE_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionInterrupted)


def _as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    if isinstance(exc, _DATABASE_DOWN):
        return ServiceUnavailable(_("The database is unavailable; try again shortly."), code="database_unavailable")
    if isinstance(exc, _CACHE_DOWN):
        return ServiceUnavailable(_("The cache is unavailable; try again shortly."), code="cache_unavailable")
    return None


def retry_after_seconds() -> str:
    return str(settings.UNAVAILABLE_RETRY_AFTER_S)


def _raised_while_parsing(exc: BaseException) -> bool:
    """A RecursionError from decoding a request body (JSON nested ~1,000 deep), not from a bug."""
    parsing = ("rest_framework/parsers.py", "json/decoder.py", "json/__init__.py", "backend/core/parsers.py")
    return any(frame.f_code.co_filename.endswith(parsing) for frame, _ in traceback.walk_tb(exc.__traceback__))


def error_body(*, code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    # The request id lets a user's report be matched with the logs of the request (backend/core/logs.py).
    return {"error": {"code": code, "message": message, "details": details or {}, "request_id": logs.request_id()}}


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=exceptions.as_serializer_error(exc))
    if isinstance(exc, RecursionError) and _raised_while_parsing(exc):
        return TooDeeplyNested()
    return _as_unavailable(exc) or exc


def api_exception_handler(exc: Exception, context: dict) -> Any:
    # Not at module level: importing rest_framework.views loads DEFAULT_PERMISSION_CLASSES, and
    # the default permission (backend.core.permissions) raises errors defined in this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        if settings.DEBUG and request is not None and _is_api(request):
            # With DEBUG on, Django would answer its HTML debug page; the API stays JSON. The
            # traceback still reaches the logs (and the runserver console).
            logging.getLogger("django.request").error(
                "Internal Server Error: %s", request.path, exc_info=(type(exc), exc, exc.__traceback__)
            )
            message = _("Something went wrong on our side.")
            return JsonResponse(error_body(code="server_error", message=message), status=500)
        return None  # a bug: let Django report the 500 (handler500 answers the envelope)

    if isinstance(exc, DomainError):
        body = error_body(code=exc.detail.code, message=str(exc.detail), details=exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body(code="invalid", message=_("The input is not valid."), details=response.data)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body(
            code="throttled",
            message=str(exc.detail),
            details={"retry_after_seconds": exc.wait and int(exc.wait + 0.999)},
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        details = {}
        if isinstance(detail, dict):
            # simplejwt puts its own code and messages in a dict.
            code = str(detail.get("code") or exc.get_codes().get("detail", "error"))
            message = str(detail.get("detail", ""))
            details = {k: v for k, v in response.data.items() if k not in ("code", "detail")}
        else:
            code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
            message = str(detail)
        body = error_body(code=str(code), message=message, details=details)

    response.data = body
    # Every 429 and 503 says when to come back: the error's own ``wait`` (DRF sets it as the
    # header), else the default pause.
    if response.status_code in (429, 503) and "Retry-After" not in response:
        response["Retry-After"] = retry_after_seconds()
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found_view(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body(code="not_found", message=_("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt
def api_not_found_view(request, *args, **kwargs):
    """The last /api/ route: any unmatched path, any method, is a 404 in the envelope, DEBUG or not."""
    return JsonResponse(error_body(code="not_found", message=_("Not found.")), status=404)


def server_error_view(request):
    # Django calls handler500 while it handles the exception (outside DRF: a middleware, a plain
    # view), so the exception is still sys.exc_info()'s.
    unavailable = _as_unavailable(sys.exc_info()[1])
    if unavailable is not None:
        return _unavailable_response(request, unavailable)
    if _is_api(request):
        message = _("Something went wrong on our side.")
        return JsonResponse(error_body(code="server_error", message=message), status=500)
    return defaults.server_error(request)


def _unavailable_response(request, unavailable: ServiceUnavailable) -> HttpResponse:
    if _is_api(request):
        body = error_body(code=unavailable.detail.code, message=str(unavailable.detail))
        response = JsonResponse(body, status=unavailable.status_code)
    else:
        response = HttpResponse(str(unavailable.detail), status=unavailable.status_code, content_type="text/plain")
    response["Retry-After"] = retry_after_seconds()
    return response


def bad_request_view(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body(code="bad_request", message=_("Bad request.")), status=400)
    return defaults.bad_request(request, exception)


def permission_denied_view(request, exception=None):
    if _is_api(request):
        message = _("You may not do this.")
        return JsonResponse(error_body(code="permission_denied", message=message), status=403)
    return defaults.permission_denied(request, exception)
