"""Conditional reads: every read of one resource the apps poll (``me``, ``creators/{handle}``, ``videos/{id}``,
``cameos/{id}``) carries an ``ETag``, and answers ``304 Not Modified`` with no body when the client's
``If-None-Match`` holds it already (RFC 9110 §13.1.2, weak comparison).

The ETag is a digest of the representation itself, after the view decided what the viewer may see: an
object the viewer may not see is a 404 whatever ``If-None-Match`` says, and a body that differs by viewer
(``liked``, ``is_following``, the owner's fields) has a different ETag for each. A body that carries
short-lived signed links (drafts, a cameo's own media) changes with its links, so it is sent whole each
time rather than revalidated into links that have expired.
"""

from __future__ import annotations

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers
from rest_framework.response import Response

# The body depends on who asks: a shared cache keys it by the credentials, and keeps none of it anyway.
VARY = ("Authorization", "Cookie")
CACHE_CONTROL = "private, no-cache"


def etag_of(data) -> str:
    """A weak ETag of a representation: equal bodies (whatever their rendering) have equal ETags."""
    canonical = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def conditional_response(request, data) -> HttpResponseBase:
    """``data`` as a 200 with its ETag, or a bodiless 304 when the request's ``If-None-Match`` matches it."""
    etag = etag_of(data)
    response = Response(data)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, VARY)
    return get_conditional_response(request, etag=etag, response=response)
