"""The two media stores: private (originals, cameo media, renditions nobody else may see) and public.

Both are Django storages configured in settings (S3 buckets, or folders on the
local disk); code asks for them here and never cares which. A video's renditions
move between them as its visibility changes (``media/video_files.py``), so code
that reads them asks ``store_for`` where they are now.
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages


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


def names_under(store: Storage, folder: str) -> list[str]:
    """Every stored name under ``folder``, at any depth (a missing folder holds none)."""
    try:
        folders, files = store.listdir(folder)
    except FileNotFoundError:  # the local disk has no such folder (S3 lists nothing)
        return []
    names = [posixpath.join(folder, name) for name in files]
    for sub in folders:
        names += names_under(store, posixpath.join(folder, sub))
    return names


def delete_under(store: Storage, folder: str) -> int:
    """Delete every file under ``folder`` (and, on the local disk, the folders left empty); how many.

    Idempotent: a second call finds nothing. Used where data must be erased, not moved (data_rights).
    """
    if not folder.strip("/"):
        raise ValueError("refusing to delete a whole store")
    names = names_under(store, folder)
    for name in names:
        store.delete(name)
    if isinstance(store, FileSystemStorage):  # the local disk keeps empty folders; object stores have none
        for path in sorted({Path(store.path(name)).parent for name in names}, key=lambda p: len(p.parts), reverse=True):
            while path != Path(store.location) and path.is_dir() and not any(path.iterdir()):
                path.rmdir()
                path = path.parent
    return len(names)
