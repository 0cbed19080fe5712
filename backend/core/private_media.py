"""Short-lived links to private media (cameo references, verification clips, videos not shown to everyone).

On S3 the storage itself signs URLs (``querystring_auth``). On the local disk
we sign the object's name with a timestamp and serve it through
``private_media_view`` (under ``SITE_URL``: the API hands out absolute URLs), which
refuses a bad or expired signature with a 404.

Public media is never signed: the public store's URLs are plain and stable (settings,
``MEDIA_PUBLIC_BASE_URL``), so CDNs and the apps cache them.

``media_file_url`` is the one way a response names a stored file, public or private: every URL it gives
is absolute (S3 and CDN URLs already are; a path is put under ``SITE_URL``), so the apps never resolve one.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.http import require_GET

from backend.core import storage

_SALT = "core.private_media"


def private_media_url(name: str) -> str:
    store = storage.private()
    if settings.S3_BUCKET:
        return store.url(name)
    token = signing.dumps(name, salt=_SALT, compress=True)
    return settings.SITE_URL + reverse("private-media", kwargs={"token": token})


def media_file_url(name: str, *, public: bool) -> str | None:
    """The absolute URL of a stored file: in the public store, its plain (CDN-cacheable) URL; in the private
    one, a signed link that expires. ``public`` says which store holds it (``Video.media_public``; avatars
    are public)."""
    if not name:
        return None
    return absolute_url(storage.public().url(name) if public else private_media_url(name))


def absolute_url(url: str) -> str:
    """``url`` as clients reach it: unchanged when absolute, else under ``SITE_URL``."""
    return urljoin(f"{settings.SITE_URL}/", url)


@require_GET
def private_media_view(request, token: str):
    try:
        name = signing.loads(token, salt=_SALT, max_age=settings.MEDIA_URL_EXPIRY_SECONDS)
    except signing.BadSignature:
        raise Http404("No such media.") from None
    store = storage.private()
    if not store.exists(name):
        raise Http404("No such media.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(store.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def public_media_view(request, path: str):
    """Local-disk mode only: serve public renditions and avatars (S3 or a CDN does in production)."""
    from django.views.static import serve

    return serve(request, path, document_root=storage.public().location)
