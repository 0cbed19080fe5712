"""Checks on uploaded likeness media, before anything is stored.

Clips are opened and fully decoded with PyAV, so a renamed image, a file
with no sound, a truncated download or an over-long clip is refused with its
own code. Images are decoded and re-encoded with Pillow (which also drops
EXIF data such as GPS positions).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass

import av
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError
from rest_framework import status

from backend.core.errors import DomainError

VIDEO_CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}


class BadUpload(DomainError):
    default_code = "invalid_upload"
    default_detail = "This file cannot be used."


class UploadTooLarge(BadUpload):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


@dataclass(frozen=True)
class ClipInfo:
    duration_s: float
    width: int
    height: int


def _local_path(upload, workdir: str) -> str:
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    path = f"{workdir}/upload"
    with open(path, "wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    return path


def check_clip(upload, *, min_s: float, max_s: float, need_audio: bool = True) -> ClipInfo:
    """Raise ``BadUpload`` unless ``upload`` is a whole, playable clip within the limits."""
    if upload.size > settings.CAMEO_CLIP_MAX_BYTES:
        raise UploadTooLarge(f"Clips may be at most {settings.CAMEO_CLIP_MAX_BYTES // 2**20} MB.")
    with tempfile.TemporaryDirectory() as workdir:
        try:
            with av.open(_local_path(upload, workdir)) as container:
                formats = set(container.format.name.split(","))
                if not formats & VIDEO_CONTAINERS or not container.streams.video:
                    raise BadUpload("This file is not a video.", code="not_a_video")
                if need_audio and not container.streams.audio:
                    raise BadUpload("The clip has no sound; record it with your voice.", code="no_audio")
                stream = container.streams.video[0]
                width, height = stream.codec_context.width, stream.codec_context.height
                if max(width, height) > settings.CAMEO_CLIP_MAX_SIDE_PX:
                    raise BadUpload(
                        f"The clip may be at most {settings.CAMEO_CLIP_MAX_SIDE_PX} pixels on a side.",
                        code="resolution_too_high",
                    )
                declared = float(container.duration / av.time_base) if container.duration else None
                if declared is not None and declared > max_s + 0.5:
                    raise BadUpload(f"The clip may be at most {max_s:g} seconds.", code="too_long")
                last_time = 0.0
                for frame in container.decode(video=0):
                    if frame.time is not None:
                        last_time = max(last_time, frame.time)
        except BadUpload:
            raise
        except av.FFmpegError as error:
            raise BadUpload("The video is damaged or not a video we can read.", code="unreadable_video") from error
    if declared is not None and last_time < declared * 0.8 - 0.5:
        raise BadUpload("The video is truncated.", code="truncated")
    duration = declared if declared is not None else last_time
    if duration > max_s + 0.5:
        raise BadUpload(f"The clip may be at most {max_s:g} seconds.", code="too_long")
    if duration < min_s:
        raise BadUpload(f"The clip must last at least {min_s:g} seconds.", code="too_short")
    return ClipInfo(duration_s=round(duration, 2), width=width, height=height)


def reencoded_image(upload, *, max_side: int = 2048) -> ContentFile:
    """A JPEG re-encoding of an uploaded image, or ``BadUpload``."""
    if upload.size > settings.CAMEO_IMAGE_MAX_BYTES:
        raise UploadTooLarge(f"Images may be at most {settings.CAMEO_IMAGE_MAX_BYTES // 2**20} MB.")
    try:
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image.width * image.height > settings.AVATAR_MAX_PIXELS:
                raise BadUpload("The image has too many pixels.", code="image_too_large")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=90)
    except BadUpload:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise BadUpload("The file is not a readable image.", code="invalid_image") from error
    return ContentFile(out.getvalue(), name="reference.jpg")
