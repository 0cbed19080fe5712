"""Opaque, tamper-proof feed cursors.

A cursor is a signed, compact token: clients can only hand back what we gave
them. It names the feed kind and the position after the last card served, so
a page never repeats or skips cards while new ones are appended behind it.
"""

from __future__ import annotations

from django.core import signing

from backend.core.errors import DomainError

_SALT = "feeds.cursor"


class InvalidCursor(DomainError):
    default_code = "invalid_cursor"
    default_detail = "This cursor is not valid; start again without one."


def encode(*, kind: str, user_id: int, position: object) -> str:
    return signing.dumps({"k": kind, "u": user_id, "p": position}, salt=_SALT, compress=True)


def decode(token: str, *, kind: str, user_id: int, max_age_s: int) -> object:
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age_s)
    except signing.SignatureExpired as error:
        raise InvalidCursor("This cursor has expired; start again without one.", code="cursor_expired") from error
    except signing.BadSignature as error:
        raise InvalidCursor() from error
    # A cursor is bound to its reader and its feed: no replaying someone else's.
    if payload.get("k") != kind or payload.get("u") != user_id:
        raise InvalidCursor()
    return payload["p"]
