"""Was this clip or frame made here? Perceptual match against every published video's fingerprint.

The hashes of all fingerprints live in one NumPy array per process, reloaded
when fingerprints were added; a lookup XORs each query hash against all of
them and counts bits (vectorised), so 100,000 videos cost milliseconds.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from backend.cameos.uploads import UploadTooLarge
from backend.core.errors import DomainError
from media import fingerprint, provenance
from media.models import VideoFingerprint

MIN_FRAME_SHARE = 0.5  # of the query's frames that must match one video


class UnreadableMedia(DomainError):
    default_code = "unreadable_media"
    default_detail = _("Upload a video clip or a still image.")


@dataclass
class _Index:
    version: tuple = ()
    video_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))


_index = _Index()
_lock = threading.Lock()


def _current_index() -> _Index:
    global _index
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {VideoFingerprint._meta.db_table}")
        version = cursor.fetchone()
    with _lock:
        if _index.version != version:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT video_id, unnest(frame_hashes) FROM {VideoFingerprint._meta.db_table}")
                rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
            _index = _Index(version=version, video_ids=rows[:, 0].copy(), hashes=rows[:, 1].view(np.uint64).copy())
        return _index


def query_hashes(path: Path) -> list[int]:
    """Hashes of an uploaded clip (sampled frames) or still image."""
    try:
        with av.open(str(path)) as container:
            is_video = bool(container.streams.video) and (container.duration or 0) > 0
    except av.FFmpegError:
        is_video = False
    if is_video:
        try:
            hashes = fingerprint.video_hashes(path)
        except av.FFmpegError as error:
            raise UnreadableMedia(_("The clip could not be decoded.")) from error
        if hashes:
            return hashes
    try:
        with Image.open(path) as image:
            image.load()
            return [fingerprint.image_hash(image.convert("RGB"))]
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UnreadableMedia() from error


def best_match(hashes: list[int]) -> tuple[int, float] | None:
    """(video id, share of query frames matched) of the best match, if good enough."""
    index = _current_index()
    if not len(index.hashes) or not hashes:
        return None
    votes: dict[int, int] = {}
    for query in hashes:
        distance = np.bitwise_count(index.hashes ^ np.uint64(query))
        for video_id in set(index.video_ids[distance <= fingerprint.MATCH_DISTANCE].tolist()):
            votes[video_id] = votes.get(video_id, 0) + 1
    if not votes:
        return None
    video_id, frames = max(votes.items(), key=lambda item: (item[1], -item[0]))
    share = frames / len(hashes)
    return (video_id, round(share, 3)) if share >= MIN_FRAME_SHARE else None


def _saved(upload, workdir: str) -> Path:
    path = Path(workdir) / "upload"
    with open(path, "wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    upload.seek(0)
    return path


def match_upload(upload) -> int | None:
    """The id of the video made here that an uploaded image or clip shows, if any."""
    with tempfile.TemporaryDirectory() as workdir:
        hashes = query_hashes(_saved(upload, workdir))
    match = best_match(hashes)
    return match[0] if match else None


def _boxes(data: bytes) -> list[tuple[str, int]]:
    """The top-level ISO BMFF boxes (type, offset) of ``data``; [] when it is not BMFF."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = int.from_bytes(data[offset : offset + 4], "big"), data[offset + 4 : offset + 8]
        if size == 1 and offset + 16 <= len(data):
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        if size < 8 or not kind.isascii():
            return []
        boxes.append((kind.decode("ascii"), offset))
        offset += size
    return boxes


def cmaf_parts(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(init segment, media segments) of a fragmented MP4 as a player holds it: an init segment
    followed by media segments (each from its ``styp``, or its ``moof`` when it has none); None for
    anything else. A media segment alone cannot be read: it has no decoder setup nor manifest."""
    boxes = _boxes(data)
    kinds = [kind for kind, _ in boxes]
    first = "styp" if "styp" in kinds else "moof"
    starts = [offset for kind, offset in boxes if kind == first]
    if not starts:
        return None
    if "moov" not in kinds[: kinds.index(first)]:
        raise UnreadableMedia(_("A media segment cannot be read alone: upload it after its init segment."))
    ends = [*starts[1:], len(data)]
    return data[: starts[0]], [data[start:end] for start, end in zip(starts, ends, strict=True)]


def _manifest(path: Path, parts: tuple[bytes, list[bytes]] | None, anchors: str) -> dict | None:
    """The file's C2PA manifest; for CMAF segments, each validated against the init segment's
    manifest (the first one that is not trusted speaks for all)."""
    if parts is None:
        return provenance.read_manifest(path, trust_anchors_pem=anchors)
    init, segments = parts
    manifests = [provenance.read_segment_manifest(init=init, segment=s, trust_anchors_pem=anchors) for s in segments]
    if not any(manifests):
        return provenance.read_manifest(path, trust_anchors_pem=anchors)  # e.g. a whole fragmented file
    return next((m for m in manifests if not m or m["validation_state"] != "Trusted"), manifests[0])


def lookup(upload) -> dict:
    """The match (video, creator, when, lineage) and the file's own C2PA manifest, if any: a whole
    file, or HLS/CMAF segments after their init segment."""
    if upload.size > settings.PROVENANCE_MAX_BYTES:
        raise UploadTooLarge(_("Files may be at most %(mb)d MB.") % {"mb": settings.PROVENANCE_MAX_BYTES // 2**20})
    with tempfile.TemporaryDirectory() as workdir:
        path = _saved(upload, workdir)
        parts = cmaf_parts(path.read_bytes())  # before decoding: a media segment alone is refused
        hashes = query_hashes(path)
        _cert, _key, anchor = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
        manifest = _manifest(path, parts, Path(settings.C2PA_TRUST_ANCHORS_PATH or anchor).read_text())
    match = best_match(hashes)
    return {"match": match, "c2pa": manifest}
