"""JSON bodies with limits: too deep or too large is a 4xx in the envelope, never a 500.

Python's ``json`` recurses once per nesting level: a body nested ~1,000 deep raises
``RecursionError`` (a 500), and one merely hundreds deep still costs stack and time in every
serializer that walks it. No request here needs more than a handful of levels, so the nesting is
checked before parsing, in one linear pass over the bytes. DRF reads the body from the stream,
which bypasses Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``; the size is capped here too.

Limits (settings, optional): ``API_JSON_MAX_DEPTH`` (default 32) and ``API_JSON_MAX_BYTES``
(default ``DATA_UPLOAD_MAX_MEMORY_SIZE``, else 2.5 MB).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from backend.core.errors import PayloadTooLarge, TooDeeplyNested

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # a JSON string, escapes included
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - {ord("["), ord("]"), ord("{"), ord("}")})


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def max_bytes() -> int:
    limit = getattr(settings, "API_JSON_MAX_BYTES", None)
    if limit is None:
        limit = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or DEFAULT_MAX_BYTES
    return int(limit)


def nesting_depth(raw: bytes, *, limit: int) -> int:
    """How deep arrays and objects nest in ``raw``: more than ``limit`` exactly when it is too deep.

    A body with at most ``limit`` brackets answers its bracket count (a bound) at once.

    Strings are dropped, then only the brackets kept; each pass removes the innermost level
    (every ``[]`` pair). All of it runs at C speed, at most ``limit + 1`` passes.
    """
    opened = raw.count(b"[") + raw.count(b"{")
    if opened <= limit:
        return opened
    brackets = _STRINGS.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            break  # not well formed: the JSON decoder will say so
        brackets, depth = reduced, depth + 1
    return depth


def check_depth(raw: bytes) -> None:
    limit = max_depth()
    if nesting_depth(raw, limit=limit) > limit:
        raise TooDeeplyNested(
            _("The JSON body is nested more than %(levels)d levels deep.") % {"levels": limit},
            details={"max_depth": limit},
        )


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested or sized past the limits before decoding them."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
        limit = max_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(
                _("JSON bodies may be at most %(bytes)d bytes.") % {"bytes": limit}, details={"max_bytes": limit}
            )
        check_depth(raw)
        try:
            text = raw.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise TooDeeplyNested() from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %s") % exc) from None
