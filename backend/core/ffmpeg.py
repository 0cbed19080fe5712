"""The FFmpeg build this process runs (the binary imageio-ffmpeg ships): what it can encode with."""

from __future__ import annotations

import functools

import imageio_ffmpeg
from django.conf import settings

from backend.core.processes import run_child


@functools.cache
def available_encoders() -> frozenset[str]:
    """The video encoders of this FFmpeg build (``ffmpeg -encoders``), asked once per process.

    A hardware encoder listed here still needs its device (a GPU, /dev/dri) at run time.
    """
    result = run_child([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-encoders"], timeout=30)
    names = set()
    for line in result.stdout.decode(errors="replace").splitlines():
        flags, _, rest = line.strip().partition(" ")
        if len(flags) == 6 and flags.startswith("V") and rest:
            names.add(rest.split()[0])
    return frozenset(names)


def encoder_status() -> str:
    """``MEDIA_ENCODER`` and whether this FFmpeg build has it, for /readyz."""
    try:
        in_build = settings.MEDIA_ENCODER in available_encoders()
    except OSError:
        in_build = False
    return f"{settings.MEDIA_ENCODER} ({'in' if in_build else 'not in'} this FFmpeg build)"
