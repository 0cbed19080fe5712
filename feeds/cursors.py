"""Feed cursors: a signed cursor (``backend.core.cursors``) naming the feed kind, its reader and the
position after the last card served, so a page never repeats or skips cards while new ones are
appended behind it.
"""

from __future__ import annotations

from backend.core.cursors import InvalidCursor, cursor_read, cursor_sign

_SALT = "feeds.cursor"


def encode(*, kind: str, user_id: int, position: object) -> str:
    return cursor_sign({"k": kind, "u": user_id, "p": position}, salt=_SALT)


def decode(token: str, *, kind: str, user_id: int, max_age_s: int) -> object:
    payload = cursor_read(token, salt=_SALT, max_age_s=max_age_s)
    # A cursor is bound to its reader and its feed: no replaying someone else's.
    if payload.get("k") != kind or payload.get("u") != user_id:
        raise InvalidCursor()
    return payload["p"]
