"""Opaque, tamper-proof cursors: a signed, compact token, so clients can only hand back what we gave them.

Every cursor the API hands out is made here: the lists' (``backend.core.pagination``, bound to the list and
its order), the feed's (``feeds.cursors`` binds it to its reader and its feed), the inbox's and the lineage's.
"""

from __future__ import annotations

from django.core import signing
from django.utils.translation import gettext_lazy as _

from backend.core.errors import DomainError


class InvalidCursor(DomainError):
    default_code = "invalid_cursor"
    default_detail = _("This cursor is not valid; start again without one.")


def cursor_sign(payload: object, *, salt: str) -> str:
    """``payload`` (anything JSON holds) as a signed token; compressed only where that makes it shorter."""
    return signing.dumps(payload, salt=salt, compress=True)


# Longer than any cursor made here: refused before its signature is computed.
CURSOR_MAX_LENGTH = 2000


def cursor_read(token: str, *, salt: str, max_age_s: int | None = None) -> object:
    """The payload of a token ``cursor_sign`` made with ``salt``; InvalidCursor when tampered with or expired."""
    if len(token) > CURSOR_MAX_LENGTH:
        raise InvalidCursor()
    try:
        return signing.loads(token, salt=salt, max_age=max_age_s)
    except signing.SignatureExpired as error:
        raise InvalidCursor(_("This cursor has expired; start again without one."), code="cursor_expired") from error
    except signing.BadSignature as error:
        raise InvalidCursor() from error
