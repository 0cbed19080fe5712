"""The local ``preview`` provider: a real MP4 made by FFmpeg, offline, in seconds.

It is not a video model and says so on every frame ("PREVIEW - not AI"): an
animated gradient tinted by the prompt, the prompt as a caption, the
reference images panning across, the remix source inset, and a chord for
audio. It exists so the whole product (renders, post-processing, feeds) works
on a laptop with no GPU and no network. It renders synchronously inside
``submit``, so ``poll`` always finds the job finished.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw, ImageFont

from backend.core.http import ProviderPermanentError
from backend.core.processes import run_child
from media.providers.base import ProviderJob, RenderSpec

# A preview output is fetched seconds after FFmpeg wrote it (FFmpeg itself gives up after 600 s):
# one this old belongs to a worker that was killed.
ORPHAN_AGE_S = 3600

_PALETTE = ["0x1e3a8a", "0x9d174d", "0x065f46", "0x92400e", "0x5b21b6", "0x0e7490", "0x7c2d12", "0x374151"]


def ffmpeg(*args: str, timeout: float = 600) -> None:
    """Run the FFmpeg binary that imageio-ffmpeg ships; raise with its stderr on failure."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    result = run_child(command, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {result.stderr.decode(errors='replace')[-2000:]}")


def _caption_png(spec: RenderSpec, path: Path) -> None:
    width, height = spec.width, spec.height
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = max(12, min(width, height) // 24)
    title = ImageFont.load_default(size=unit)
    body = ImageFont.load_default(size=int(unit * 0.8))
    draw.rectangle([0, 0, width, int(unit * 1.8)], fill=(0, 0, 0, 150))
    draw.text((unit // 2, unit // 3), "PREVIEW - not AI", font=title, fill=(255, 255, 255, 255))
    chars_per_line = max(12, int(width / (unit * 0.45)))
    lines = textwrap.wrap(spec.prompt, chars_per_line)[:6]
    if spec.caption:
        lines.append(spec.caption)
    top = height - int(len(lines) * unit * 1.1) - unit
    draw.rectangle([0, top - unit // 2, width, height], fill=(0, 0, 0, 140))
    for index, line in enumerate(lines):
        draw.text((unit // 2, top + int(index * unit * 1.1)), line, font=body, fill=(255, 255, 255, 255))
    image.save(path)


class PreviewProvider:
    name = "preview"

    def __init__(self, *, output_dir: Path | None = None):
        self.output_dir = Path(output_dir or tempfile.gettempdir()) / "remix-preview"

    def _output(self, provider_job_id: str) -> Path:
        return self.output_dir / f"{provider_job_id}.mp4"

    def validate(self, spec: RenderSpec) -> None:
        """FFmpeg renders any length, size and aspect the product offers, with any references."""

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
        # Named by the render job: a job submitted again (its worker was killed mid-render) overwrites
        # its own half-written output instead of leaving a second one.
        provider_job_id = f"preview-{key}"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._remove_orphans()
        # Everything this provider writes is named preview-* in output_dir, where _remove_orphans finds
        # what a killed worker left.
        caption = self.output_dir / f"{provider_job_id}.caption.png"
        try:
            _caption_png(spec, caption)
            ffmpeg(*self._command(spec, caption, self._output(provider_job_id)))
        except RuntimeError as error:
            self._output(provider_job_id).unlink(missing_ok=True)
            raise ProviderPermanentError(str(error), code="preview_render_failed") from error
        finally:
            caption.unlink(missing_ok=True)
        return ProviderJob(provider_job_id=provider_job_id, state="succeeded", progress=100)

    def _remove_orphans(self) -> None:
        """Outputs of an hour ago (fetched or not) and captions of renders whose worker was killed."""
        cutoff = time.time() - ORPHAN_AGE_S
        for path in self.output_dir.glob("preview-*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass  # fetched or removed meanwhile

    def _command(self, spec: RenderSpec, caption: Path, output: Path) -> list[str]:
        w, h, d = spec.width, spec.height, f"{spec.duration_s:g}"
        digest = hashlib.sha256(spec.prompt.encode()).digest()
        colors = [_PALETTE[b % len(_PALETTE)] for b in digest[:2]]
        inputs = [
            "-f", "lavfi", "-i", f"gradients=s={w}x{h}:d={d}:r=24:c0={colors[0]}:c1={colors[1]}:speed=0.02",
            "-loop", "1", "-framerate", "24", "-t", d, "-i", str(caption),
        ]  # fmt: skip
        graph = ["[0:v][1:v]overlay=0:0[v1]"]
        last = "v1"
        card = min(w, h) // 3
        for index, image in enumerate(spec.reference_images[:3]):
            stream = 2 + index
            inputs += ["-loop", "1", "-framerate", "24", "-t", d, "-i", str(image)]
            y = h // 5 + index * (card + card // 6)
            graph.append(f"[{stream}:v]scale={card}:{card}:force_original_aspect_ratio=decrease[ref{index}]")
            # The card drifts across the frame over the clip's duration.
            graph.append(f"[{last}][ref{index}]overlay=x='(W-w)*t/{d}':y={y}[v{stream}]")
            last = f"v{stream}"
        if spec.source_video is not None:
            stream = 2 + len(spec.reference_images[:3])
            inputs += ["-stream_loop", "-1", "-t", d, "-i", str(spec.source_video)]
            graph.append(f"[{stream}:v]scale={w // 2}:-2,setsar=1[src]")
            graph.append(f"[{last}][src]overlay=x=W-w-{w // 20}:y={h // 10}:shortest=1[vsrc]")
            last = "vsrc"
        graph.append(f"[{last}]format=yuv420p[vout]")
        base = 110 + digest[2] % 110
        chord = "+".join(f"0.08*sin(2*PI*{base * ratio:.1f}*t)" for ratio in (1, 1.25, 1.5))
        inputs += ["-f", "lavfi", "-i", f"aevalsrc='{chord}':s=44100:d={d}"]
        audio = 2 + len(spec.reference_images[:3]) + (1 if spec.source_video is not None else 0)
        return [
            *inputs,
            "-filter_complex", ";".join(graph),
            "-map", "[vout]", "-map", f"{audio}:a",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-r", "24",
            "-c:a", "aac", "-b:a", "96k",
            "-t", d, "-movflags", "+faststart",
            str(output),
        ]  # fmt: skip

    def poll(self, provider_job_id: str) -> ProviderJob:
        if not self._output(provider_job_id).exists():
            return ProviderJob(provider_job_id, "failed", error_code="preview_missing", error_message="No output.")
        return ProviderJob(provider_job_id=provider_job_id, state="succeeded", progress=100)

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        # Copied, not moved: as a hosted model's result stays downloadable for a while, an attempt that
        # takes over from one the reaper gave up on fetches the same output again (swept after an hour).
        source = self._output(provider_job_id)
        try:
            shutil.copyfile(source, destination)
        except FileNotFoundError as error:
            raise ProviderPermanentError("The preview output is gone.", code="preview_missing") from error
        return destination

    def cancel(self, provider_job_id: str) -> None:
        self._output(provider_job_id).unlink(missing_ok=True)
