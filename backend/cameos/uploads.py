"""Checks on uploaded likeness media, before anything is stored.

Clips and voice samples are opened and fully decoded with PyAV, so a renamed
image, a file with no sound, a truncated download or an over-long clip is
refused with its own code (``not_a_video``, ``not_audio``, ``no_audio``,
``truncated``, ``too_long``, ``too_short``, ``resolution_too_high``,
``file_too_large``). What passes is remuxed without its metadata (phones write
where a clip was filmed), streams copied, never re-encoded. Images are decoded
and re-encoded to JPEG with Pillow, which drops EXIF data such as GPS positions
(``invalid_image``, ``image_too_large``).

The ``cleaned_*`` context managers hand out a local file ready to store and
remove their temporary files on exit, whatever happens: a refused upload leaves
nothing behind.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError
from rest_framework import status

from backend.core.errors import DomainError
from backend.core.processes import run_child

VIDEO_CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}
AUDIO_CONTAINERS = VIDEO_CONTAINERS | {"mp3", "wav", "ogg", "flac", "aac"}
# Codecs each output container takes as they are (stream copy).
_MP4_VIDEO = {"h264", "hevc", "av1", "vp9", "mpeg4"}
_MP4_AUDIO = {"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"}
_WEBM_VIDEO = {"vp8", "vp9", "av1"}
_WEBM_AUDIO = {"opus", "vorbis"}
# Audio codec → (muxer, extension) for voice samples.
_AUDIO_OUTPUTS = {
    "aac": ("ipod", ".m4a"),
    "alac": ("ipod", ".m4a"),
    "mp3": ("mp3", ".mp3"),
    "opus": ("ogg", ".ogg"),
    "vorbis": ("ogg", ".ogg"),
    "flac": ("flac", ".flac"),
}


class BadUpload(DomainError):
    default_code = "invalid_upload"
    default_detail = _("This file cannot be used.")


class UploadTooLarge(BadUpload):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


@dataclass(frozen=True)
class ClipInfo:
    duration_s: float
    width: int
    height: int
    has_audio: bool = True


@dataclass(frozen=True)
class VoiceInfo:
    duration_s: float


@dataclass(frozen=True)
class CleanMedia:
    """A checked upload, stripped of metadata, as a local file to store (valid inside its ``with``)."""

    path: Path
    extension: str
    duration_s: float
    width: int | None = None
    height: int | None = None

    def open(self) -> File:
        return File(open(self.path, "rb"), name=f"media{self.extension}")  # the caller closes it


def _local_path(upload, workdir: str) -> str:
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    path = f"{workdir}/upload"
    upload.seek(0)
    with open(path, "wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    return path


def _looks_like_media_container(path: str) -> bool:
    """An ISO-BMFF (MP4, MOV) or EBML (Matroska, WebM) header: a real media file, so a parse failure means damage."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip") or head[:4] == b"\x1a\x45\xdf\xa3"


def _refuse_unreadable(path: str, *, not_media_code: str, not_media_message: str) -> BadUpload:
    if _looks_like_media_container(path):
        return BadUpload(_("The file is incomplete or damaged; upload it again."), code="truncated")
    return BadUpload(not_media_message, code=not_media_code)


def _check_size(upload, *, max_bytes: int, what: str) -> None:
    if upload.size > max_bytes:
        raise UploadTooLarge(
            _("%(what)s may be at most %(mb)d MB.") % {"what": what, "mb": max_bytes // 2**20},
            details={"max_bytes": max_bytes},
        )
    if upload.size == 0:
        raise BadUpload(_("The file is empty."), code="empty_file")


def _check_duration(duration: float, *, min_s: float, max_s: float, what: str) -> None:
    if duration > max_s + 0.5:
        raise BadUpload(
            _("%(what)s may be at most %(seconds)g seconds.") % {"what": what, "seconds": max_s},
            code="too_long",
            details={"max_s": max_s},
        )
    if duration < min_s:
        raise BadUpload(
            _("%(what)s must last at least %(seconds)g seconds.") % {"what": what, "seconds": min_s},
            code="too_short",
            details={"min_s": min_s},
        )


def _ended_early(*, declared: float | None, last_time: float) -> bool:
    return declared is not None and last_time < declared * 0.8 - 0.5


def _decoded_duration(
    *, declared: float | None, last_time: float, frames: int, min_s: float, max_s: float, what: str
) -> float:
    """The length of a file decoded to its end: refused when nothing decoded or it ended well before it said."""
    if frames == 0 or _ended_early(declared=declared, last_time=last_time):
        raise BadUpload(_("The file is incomplete or damaged; upload it again."), code="truncated")
    duration = declared if declared is not None else last_time
    _check_duration(duration, min_s=min_s, max_s=max_s, what=what)
    return duration


def _probe_clip(path: str, *, min_s: float, max_s: float, need_audio: bool) -> tuple[ClipInfo, str, str | None]:
    """Open and decode the whole clip; return what it is, its video codec and audio codec (if any)."""
    try:
        with av.open(path) as container:
            formats = set(container.format.name.split(","))
            if not formats & VIDEO_CONTAINERS or not container.streams.video:
                raise BadUpload(_("This file is not a video."), code="not_a_video")
            if need_audio and not container.streams.audio:
                raise BadUpload(_("The clip has no sound; record it with your voice."), code="no_audio")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            width, height = stream.codec_context.width, stream.codec_context.height
            if max(width, height) > settings.CAMEO_CLIP_MAX_SIDE_PX:
                raise BadUpload(
                    _("The clip may be at most %(pixels)d pixels on a side.")
                    % {"pixels": settings.CAMEO_CLIP_MAX_SIDE_PX},
                    code="resolution_too_high",
                    details={"max_side_px": settings.CAMEO_CLIP_MAX_SIDE_PX},
                )
            declared = float(container.duration / av.time_base) if container.duration else None
            if declared is not None:
                _check_duration(declared, min_s=0, max_s=max_s, what=_("The clip"))  # refuse before decoding
            video_codec = stream.codec_context.name
            audio_codec = container.streams.audio[0].codec_context.name if container.streams.audio else None
            last_time, frames = 0.0, 0
            for frame in container.decode(video=0):
                frames += 1
                if frame.time is not None:
                    last_time = max(last_time, frame.time)
    except BadUpload:
        raise
    except av.FFmpegError as error:
        raise _refuse_unreadable(
            path, not_media_code="not_a_video", not_media_message=_("This file is not a video.")
        ) from error
    duration = _decoded_duration(
        declared=declared, last_time=last_time, frames=frames, min_s=min_s, max_s=max_s, what=_("The clip")
    )
    info = ClipInfo(duration_s=round(duration, 2), width=width, height=height, has_audio=audio_codec is not None)
    return info, video_codec, audio_codec


def _probe_voice(path: str, *, min_s: float, max_s: float) -> tuple[VoiceInfo, str]:
    try:
        with av.open(path) as container:
            formats = set(container.format.name.split(","))
            if not formats & AUDIO_CONTAINERS or not container.streams.audio:
                raise BadUpload(_("This file is not a sound recording."), code="not_audio")
            stream = container.streams.audio[0]
            declared = float(container.duration / av.time_base) if container.duration else None
            if declared is not None:
                _check_duration(declared, min_s=0, max_s=max_s, what=_("The voice sample"))
            last_time, frames = 0.0, 0
            for frame in container.decode(audio=0):
                frames += 1
                if frame.time is not None:
                    last_time = max(last_time, frame.time + frame.samples / (frame.sample_rate or 1))
            codec = stream.codec_context.name
    except BadUpload:
        raise
    except av.FFmpegError as error:
        raise _refuse_unreadable(
            path, not_media_code="not_audio", not_media_message=_("This file is not a sound recording.")
        ) from error
    duration = _decoded_duration(
        declared=declared, last_time=last_time, frames=frames, min_s=min_s, max_s=max_s, what=_("The voice sample")
    )
    return VoiceInfo(duration_s=round(duration, 2)), codec


def _ffmpeg(*args: str) -> bool:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    return run_child(command, timeout=120).returncode == 0


_NO_METADATA = ("-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy")


def _video_output(video_codec: str, audio_codec: str | None) -> tuple[str, str]:
    audio = {audio_codec} - {None}
    if video_codec in _MP4_VIDEO and audio <= _MP4_AUDIO:
        return "mp4", ".mp4"
    if video_codec in _WEBM_VIDEO and audio <= _WEBM_AUDIO:
        return "webm", ".webm"
    return "matroska", ".mkv"


@contextmanager
def cleaned_clip(upload, *, min_s: float, max_s: float, need_audio: bool = True) -> Iterator[CleanMedia]:
    """A whole, playable clip within the limits, remuxed without metadata; or ``BadUpload``."""
    _check_size(upload, max_bytes=settings.CAMEO_CLIP_MAX_BYTES, what=_("Clips"))
    with tempfile.TemporaryDirectory(prefix="cameo-clip-") as workdir:
        source = _local_path(upload, workdir)
        info, video_codec, audio_codec = _probe_clip(source, min_s=min_s, max_s=max_s, need_audio=need_audio)
        muxer, extension = _video_output(video_codec, audio_codec)
        target = Path(workdir) / f"clean{extension}"
        flags = ["-movflags", "+faststart"] if muxer == "mp4" else []
        if not _ffmpeg("-i", source, "-map", "0:v:0", "-map", "0:a:0?", *_NO_METADATA, *flags, "-f", muxer,
                       str(target)):  # fmt: skip
            raise BadUpload(_("This video's format is not supported."), code="unsupported_video")
        yield CleanMedia(path=target, extension=extension, duration_s=info.duration_s, width=info.width,
                         height=info.height)  # fmt: skip


@contextmanager
def cleaned_voice(upload, *, min_s: float, max_s: float) -> Iterator[CleanMedia]:
    """A whole sound recording within the limits (its audio only, without metadata); or ``BadUpload``."""
    _check_size(upload, max_bytes=settings.CAMEO_CLIP_MAX_BYTES, what=_("Voice samples"))
    with tempfile.TemporaryDirectory(prefix="cameo-voice-") as workdir:
        source = _local_path(upload, workdir)
        info, codec = _probe_voice(source, min_s=min_s, max_s=max_s)
        muxer, extension = _AUDIO_OUTPUTS.get(codec, ("ipod", ".m4a"))
        # Codecs without a container of their own (PCM, AMR...) are encoded to AAC once.
        audio_codec = ["-c:a", "copy"] if codec in _AUDIO_OUTPUTS else ["-c:a", "aac", "-b:a", "128k"]
        target = Path(workdir) / f"clean{extension}"
        if not _ffmpeg("-i", source, "-map", "0:a:0", "-vn", "-map_metadata", "-1", "-map_chapters", "-1",
                       *audio_codec, "-f", muxer, str(target)):  # fmt: skip
            raise BadUpload(_("This recording's format is not supported."), code="unsupported_audio")
        yield CleanMedia(path=target, extension=extension, duration_s=info.duration_s)


def reencoded_image(upload, *, max_side: int = 2048) -> ContentFile:
    """A JPEG re-encoding of an uploaded image (no EXIF, upright), or ``BadUpload``."""
    _check_size(upload, max_bytes=settings.CAMEO_IMAGE_MAX_BYTES, what=_("Images"))
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image.width * image.height > settings.AVATAR_MAX_PIXELS:
                raise BadUpload(_("The image has too many pixels."), code="image_too_large")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=90)
    except BadUpload:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise BadUpload(_("The file is not a readable image."), code="invalid_image") from error
    return ContentFile(out.getvalue(), name="reference.jpg")
