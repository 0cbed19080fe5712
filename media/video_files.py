"""A video's files follow who may see it.

Its renditions (the MP4, the HLS ladder, the poster, the thumbnails, all under one prefix) sit in the
public store, served to anyone and cacheable by a CDN, only while the video is shown to everyone
(``Video.shown_to_everyone``). Otherwise they are in the private store, reached only through signed
links handed to viewers the visibility rule lets see the video: a draft, a post narrowed to followers or
to its owner, a withdrawn or a removed one (kept, not deleted: a moderator may restore it). So a public
URL copied from a post answers 404 from the moment the post is taken down, withdrawn or narrowed.

Moving is idempotent and safe to interrupt. Each file is copied to the other store and only then deleted
from its source, so a file found in the target and not in the source was moved by an earlier attempt;
``Video.media_public`` changes only once every file has moved, so a move that died half-way is finished
by the next sync (``manage.py video_media_sync`` syncs every video whose files are in the wrong store).
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import shutil
import tempfile

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.db import transaction
from django.db.models import Q, QuerySet
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from backend.core import storage
from backend.videos.models import Video

logger = logging.getLogger(__name__)


def video_file_names(*, video: Video, store: Storage) -> list[str]:
    """Every name of ``video``'s files: the renditions it names, and whatever its HLS folder holds in ``store``
    (the playlists name their segments, the row does not)."""
    names = [video.mp4, video.poster, *video.thumbnails, video.hls]
    if video.hls:
        folder = posixpath.dirname(video.hls)
        names += [f"{folder}/{name}" for name in _files_in(store, folder)]
    return list(dict.fromkeys(name for name in names if name))


SYNC_CHUNK = 200


def video_files_sync(*, video_id: int) -> None:
    """Move ``video_id``'s files to the store its state calls for, if they are not there yet."""
    video_files_sync_many(video_ids=[video_id])


def video_files_sync_many(*, video_ids: list[int]) -> None:
    """Move the files of these videos to the stores their states call for: a few hundred rows per
    transaction, one statement to record where they now are, so withdrawing thousands at once costs
    a few queries per chunk, not per video.

    The row locks serialise syncs of one video (and the state changes that trigger them), so two moves
    never run against each other; the state read under them is the one that decides.
    """
    ordered = sorted(set(video_ids))
    for start in range(0, len(ordered), SYNC_CHUNK):
        _sync_chunk(ordered[start : start + SYNC_CHUNK])


@transaction.atomic
def _sync_chunk(video_ids: list[int]) -> None:
    videos = Video.objects.select_for_update(of=("self",)).select_related("owner").filter(id__in=video_ids)
    videos = videos.order_by("id")
    misplaced = [video for video in videos if video.media_public != video.shown_to_everyone]
    for video in misplaced:
        source = storage.store_for(public_media=video.media_public)
        target = storage.public() if video.shown_to_everyone else storage.private()
        names = video_file_names(video=video, store=source)
        for name in names:
            _move(name, source=source, target=target)
        _remove_empty_folders(source, names)
    for public in (True, False):
        moved = [video.id for video in misplaced if video.shown_to_everyone is public]
        if moved:
            Video.objects.filter(id__in=moved).update(media_public=public)
            logger.info("%d video(s): files moved to the %s store", len(moved), "public" if public else "private")


def videos_with_files_misplaced() -> QuerySet[Video]:
    """Videos whose files are not in the store their state calls for (``Video.shown_to_everyone``)."""
    shown = Q(
        status=Video.Status.PUBLISHED,
        visibility=Video.Visibility.PUBLIC,
        withdrawn_at__isnull=True,
        owner__is_active=True,
    )
    return Video.objects.filter((shown & Q(media_public=False)) | (~shown & Q(media_public=True)))


def _files_in(store: Storage, folder: str) -> list[str]:
    try:
        return store.listdir(folder)[1]
    except FileNotFoundError:  # the local disk has no such folder (S3 lists nothing)
        return []


def _move(name: str, *, source: Storage, target: Storage) -> None:
    """Copy, then delete the source. A file only in the target was moved before; in neither, never stored."""
    if not source.exists(name):
        if not target.exists(name):
            logger.warning("%s is in neither media store", name)
        return
    if isinstance(source, FileSystemStorage) and isinstance(target, FileSystemStorage):
        _move_on_disk(source.path(name), target.path(name))
        return
    if isinstance(source, S3Storage) and isinstance(target, S3Storage) and _same_service(source, target):
        _copy_on_s3(name, source=source, target=target)
    else:
        _copy_streamed(name, source=source, target=target)
    source.delete(name)


def _move_on_disk(source_path: str, target_path: str) -> None:
    os.makedirs(os.path.dirname(target_path), exist_ok=True)
    try:
        os.replace(source_path, target_path)  # atomic: the file is whole in exactly one store
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # The stores are on different file systems: a whole copy next to the target, renamed into place.
        handle, partial = tempfile.mkstemp(dir=os.path.dirname(target_path), prefix=".moving-")
        os.close(handle)
        shutil.copyfile(source_path, partial)
        os.replace(partial, target_path)
        os.remove(source_path)


def _same_service(source: S3Storage, target: S3Storage) -> bool:
    """Whether one set of credentials reaches both buckets, so S3 can copy between them itself."""
    return (source.endpoint_url, source.access_key, source.region_name) == (
        target.endpoint_url,
        target.access_key,
        target.region_name,
    )


def _copy_on_s3(name: str, *, source: S3Storage, target: S3Storage) -> None:
    """A server-side copy (nothing passes through this process; one request up to 5 GB, far above a render).

    The copy takes the target store's own object parameters (content type, cache control, ACL), as a file
    saved there would; an existing copy from an interrupted attempt is replaced whole.
    """
    source_key = source._normalize_name(clean_name(name))
    target_key = target._normalize_name(clean_name(name))
    target.connection.meta.client.copy_object(
        CopySource={"Bucket": source.bucket_name, "Key": source_key},
        Bucket=target.bucket_name,
        Key=target_key,
        MetadataDirective="REPLACE",
        **target._get_write_parameters(target_key),
    )


def _copy_streamed(name: str, *, source: Storage, target: Storage) -> None:
    """Any other pair of stores: read the file from one and write it to the other under the same name."""
    if target.exists(name):
        target.delete(name)  # a partial copy from an interrupted attempt
    with source.open(name, "rb") as handle:
        saved = target.save(name, File(handle, name=posixpath.basename(name)))
    if saved != name:
        raise RuntimeError(f"{name} was stored as {saved}")


def _remove_empty_folders(store: Storage, names: list[str]) -> None:
    """The local disk keeps the folders a move emptied; object stores have none."""
    if not isinstance(store, FileSystemStorage):
        return
    folders = {posixpath.dirname(name) for name in names}
    for folder in sorted(folders, key=len, reverse=True):
        while folder:
            try:
                os.rmdir(store.path(folder))
            except OSError:
                break  # not empty, or already gone
            folder = posixpath.dirname(folder)


def _folders_of(video: Video) -> set[str]:
    """The folders a video's renditions live in (``videos/<render job>``), from the names it holds."""
    names = [video.mp4, video.poster, video.hls, *video.thumbnails]
    return {"/".join(name.split("/")[:2]) for name in names if name and name.count("/") >= 1}


def video_files_erase(*, video_ids: list[int]) -> int:
    """Erase every file of these videos from both stores, and the names from their rows (tombstones keep
    no media); how many files went. Idempotent. For data that must go (data_rights), not for takedowns."""
    erased = 0
    for start in range(0, len(video_ids), SYNC_CHUNK):
        with transaction.atomic():
            videos = list(Video.objects.select_for_update().filter(id__in=video_ids[start : start + SYNC_CHUNK]))
            for video in videos:
                for folder in _folders_of(video):
                    erased += storage.delete_under(storage.public(), folder)
                    erased += storage.delete_under(storage.private(), folder)
            Video.objects.filter(id__in=[video.id for video in videos]).update(
                mp4="", hls="", poster="", thumbnails=[], media_public=False
            )
    return erased
