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


class Translatable(str):
    """A message that remembers its catalogue entry and arguments. It reads as text in the language
    active when it is made, and ``as_json`` / ``from_json`` keep it so that it is read later in another:
    a refusal stored on a render job is shown in the language of whoever reads the job, not of whoever
    wrote it. An argument that is itself a ``Translatable`` (a field's label) is translated too.
    """

    msgid: str
    params: dict

    def __new__(cls, msgid: str, /, **params):
        message = super().__new__(cls, _rendered(msgid, params))
        message.msgid = msgid
        message.params = params
        return message

    def __reduce__(self):  # pickled (Celery, cache) as what it is made of, not as its text
        return (Translatable.from_json, (self.as_json(),))

    def render(self) -> str:
        """The message in the language active now."""
        return _rendered(self.msgid, self.params)

    def as_json(self) -> dict:
        return {
            "msgid": self.msgid,
            "params": {k: v.as_json() if isinstance(v, Translatable) else v for k, v in self.params.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> Translatable:
        params = {k: cls.from_json(v) if isinstance(v, dict) and "msgid" in v else v for k, v in data["params"].items()}
        return cls(data["msgid"], **params)


def _rendered(msgid: str, params: dict) -> str:
    text = translation.gettext(msgid)
    if not params:
        return text
    return text % {k: v.render() if isinstance(v, Translatable) else v for k, v in params.items()}
