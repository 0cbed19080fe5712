"""Real media files for tests, made with the FFmpeg binary that imageio-ffmpeg ships."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from media.providers.preview import ffmpeg


def make_clip(path: Path, *, seconds: float = 4, size: str = "320x240", audio: bool = True) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:d={seconds}:r=24"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    ffmpeg(*args, str(path))
    return path


def png_bytes(size=(64, 64), color="orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()
