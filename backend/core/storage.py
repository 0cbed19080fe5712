"""The two media stores: private (originals, cameo media, renditions nobody else may see) and public.

Both are Django storages configured in settings (S3 buckets, or folders on the
local disk); code asks for them here and never cares which. A video's renditions
move between them as its visibility changes (``media/video_files.py``), so code
that reads them asks ``store_for`` where they are now.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, storages


def private() -> Storage:
    return storages["default"]


def public() -> Storage:
    return storages["public"]


def store_for(*, public_media: bool) -> Storage:
    """The store that holds a video's renditions now (pass ``Video.media_public``)."""
    return public() if public_media else private()


def download(store: Storage, name: str, destination: Path) -> Path:
    """Copy a stored object to a local file (workers process local files)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with store.open(name, "rb") as source, open(destination, "wb") as target:
        shutil.copyfileobj(source, target, length=1024 * 1024)
    return destination


def upload(store: Storage, local_path: Path, name: str) -> str:
    """Store a local file under exactly ``name`` (replacing what a failed attempt left)."""
    if store.exists(name):
        store.delete(name)
    with open(local_path, "rb") as handle:
        return store.save(name, File(handle))
