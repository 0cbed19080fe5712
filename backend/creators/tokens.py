"""The tokens account mails carry, and what a bad one is answered with.

Email verification and email change: ``django.core.signing`` (HMAC with SECRET_KEY, a salt per
purpose, ``max_age``), naming the user and the address(es) they were made for, so each works once:
a verified account, or one whose email is no longer the one named, refuses it. Password reset:
Django's ``default_token_generator`` with the user's id (base64) beside it; the token hashes the
password and last login, so it dies with the first use (or sign-in) and after PASSWORD_RESET_TIMEOUT.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from backend.core.errors import DomainError
from backend.creators.models import User

EMAIL_VERIFY_SALT = "creators.email-verify"
EMAIL_CHANGE_SALT = "creators.email-change"


class TokenInvalid(DomainError):
    """Tampered, another purpose's, already used or superseded: all look the same to the caller."""

    default_code = "token_invalid"
    default_detail = _("This link is not valid (any more). Ask for a new one.")


class TokenExpired(DomainError):
    default_code = "token_expired"
    default_detail = _("This link has expired. Ask for a new one.")


def signed_make(payload: dict, *, salt: str) -> str:
    return signing.dumps(payload, salt=salt, compress=True)


def signed_read(token: str, *, salt: str, max_age: int) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise TokenExpired() from error
    except signing.BadSignature as error:
        raise TokenInvalid() from error
    if not isinstance(payload, dict):
        raise TokenInvalid()
    return payload


def email_verify_token(user: User) -> str:
    return signed_make({"user": user.id, "email": user.email}, salt=EMAIL_VERIFY_SALT)


def email_change_token(user: User, *, new_email: str) -> str:
    return signed_make({"user": user.id, "from": user.email, "to": new_email}, salt=EMAIL_CHANGE_SALT)


def password_reset_pair(user: User) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def password_reset_user(*, uid: str, token: str) -> User:
    """The user the pair names, locked (the caller is in a transaction: of two requests racing with one
    token, the second sees the new password hash), if the token is theirs and current; else
    ``TokenInvalid`` or ``TokenExpired``."""
    try:
        user = User.objects.select_for_update().get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist) as error:
        raise TokenInvalid() from error
    if default_token_generator.check_token(user, token):
        return user
    if _reset_token_only_expired(user, token):
        raise TokenExpired()
    raise TokenInvalid()


def _reset_token_only_expired(user: User, token: str) -> bool:
    """Was ``token`` right for ``user`` as they are now, but made more than PASSWORD_RESET_TIMEOUT ago?"""
    try:
        timestamp = base36_to_int(token.split("-")[0])
    except ValueError:
        return False
    generator = default_token_generator
    expected = generator._make_token_with_timestamp(user, timestamp, generator.secret)
    age = generator._num_seconds(generator._now()) - timestamp
    return constant_time_compare(expected, token) and age > settings.PASSWORD_RESET_TIMEOUT
