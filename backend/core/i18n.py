"""Languages: which one a request, a mail or a push is written in.

A request's language is its ``Accept-Language`` (Django's ``LocaleMiddleware``); an authenticated request
without that header gets the language stored on the account (``User.language``), chosen in
``authenticate`` because a JWT is only read there, inside DRF. Mail (``backend/core/mail.py``) and push
(``notifications/delivery.py``) are rendered under ``translation.override`` of the recipient's profile
language, as ``supported`` maps it. Every response says which language it speaks in
``Content-Language``. The catalogues are ``locale/<language>/LC_MESSAGES/django.po`` and their compiled
``.mo`` (committed: a machine without GNU gettext runs and tests the service as is); see README "Languages".
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from drf_spectacular import authentication as spectacular_authentication
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import authentication
from rest_framework_simplejwt import authentication as jwt_authentication


def supported(language: str | None) -> str:
    """The supported language closest to ``language`` ("zh-TW" → "zh-hant"); LANGUAGE_CODE when none is."""
    if language:
        try:
            return translation.get_supported_language_variant(language.lower())
        except LookupError:
            pass
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def language_of(user) -> str:
    """The language a user's mail and push are written in: the one on their profile."""
    return supported(getattr(user, "language", "") or "")


class RequestLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, leaving no language active after the response (a test or a thread that
    serves the next request must not inherit this one's)."""

    def process_response(self, request, response):
        response = super().process_response(request, response)
        translation.deactivate()
        return response


def _use_account_language(request, user) -> None:
    if user is None or "HTTP_ACCEPT_LANGUAGE" in request.META or not getattr(user, "language", ""):
        return
    language = language_of(user)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.LANGUAGE_CODE = language


class JWTAuthentication(jwt_authentication.JWTAuthentication):
    """simplejwt's, and an account's language where the request names none."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _use_account_language(request, result[0])
        return result


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's, and an account's language where the request names none."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _use_account_language(request, result[0])
        return result


# The OpenAPI schema describes these as the classes they extend (same scheme names: jwtAuth, cookieAuth).
class JWTScheme(SimpleJWTScheme):
    target_class = JWTAuthentication


class SessionScheme(spectacular_authentication.SessionScheme):
    target_class = SessionAuthentication
