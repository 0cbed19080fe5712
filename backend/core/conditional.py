"""Conditional reads: every read of one resource the apps poll (``me``, ``creators/{handle}``, ``videos/{id}``,
``cameos/{id}``) carries an ``ETag``, and answers ``304 Not Modified`` with no body when the client's
``If-None-Match`` holds it already (RFC 9110 §13.1.2, weak comparison). A view's ``get`` opts in with
``@conditional_read``; ``schema_conditional_reads`` (a drf-spectacular hook) documents the 304 and headers.

The ETag is a digest of the representation itself, after the view decided what the viewer may see: an
object the viewer may not see is a 404 whatever ``If-None-Match`` says, and a body that differs by viewer
(``liked``, ``is_following``, the owner's fields) has a different ETag for each. A body that carries
short-lived signed links (drafts, a cameo's own media) changes with its links, so it is sent whole each
time rather than revalidated into links that have expired.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.cache import get_conditional_response, patch_vary_headers

# The body depends on who asks: a shared cache keys it by the credentials, and keeps none of it anyway.
VARY = ("Authorization", "Cookie")
CACHE_CONTROL = "private, no-cache"


def etag_of(data) -> str:
    """A weak ETag of a representation: equal bodies (whatever their rendering) have equal ETags."""
    canonical = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def conditional_read(get):
    """A view's ``get`` whose 200 carries the ETag of its data, and is a bodiless 304 when the request's
    ``If-None-Match`` matches it. Anything but a 200 (a 404 first of all) passes through untouched."""

    @functools.wraps(get)
    def wrapped(view, request, *args, **kwargs):
        response = get(view, request, *args, **kwargs)
        if response.status_code != 200:
            return response
        etag = etag_of(response.data)
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
        patch_vary_headers(response, VARY)
        return get_conditional_response(request, etag=etag, response=response)

    wrapped.conditional_read = True
    return wrapped


_ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "The version of this body, for If-None-Match."}}


def schema_conditional_reads(result, generator, request, public):
    """drf-spectacular post-processing hook: each ``@conditional_read`` GET takes ``If-None-Match``, says
    ``ETag`` and may answer 304."""
    for path, _, method, view in generator.endpoints:
        if method != "GET" or not getattr(getattr(view.cls, "get", None), "conditional_read", False):
            continue
        operation = result["paths"][path]["get"]
        operation.setdefault("parameters", []).append(
            {
                "in": "header",
                "name": "If-None-Match",
                "schema": {"type": "string"},
                "description": "The ETag of the body you hold: 304 with no body while it is unchanged.",
            }
        )
        operation["responses"]["200"].setdefault("headers", {}).update(_ETAG_HEADER)
        operation["responses"]["304"] = {"description": "Not modified: the body you hold is current.",
                                         "headers": _ETAG_HEADER}  # fmt: skip
    return result
