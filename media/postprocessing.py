"""From a provider's original to what viewers get: probe, watermark, ladder, sign, fingerprint.

- the MP4 rendition at the source size, with a visible watermark that drifts
  around the frame ("Remix · @handle"), signed with a C2PA manifest;
- an HLS ladder (360p, 720p, 1080p: the rungs whose short side fits the
  source) with a master playlist;
- a poster and three thumbnails;
- a perceptual fingerprint of the published frames for provenance lookup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import av
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from backend.core import storage
from media import fingerprint, provenance
from media.models import RenderJob, VideoFingerprint
from media.providers.preview import ffmpeg

HLS_LADDER = (360, 720, 1080)  # short side of each rung
HLS_BITRATES = {360: "800k", 720: "2800k", 1080: "5000k"}


class BadProviderOutput(Exception):
    """The provider returned something that is not a playable video."""


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None


def probe(path: Path) -> ProbeResult:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadProviderOutput("The result has no video stream.")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            result = ProbeResult(
                duration_s=round(duration, 3),
                width=video.codec_context.width,
                height=video.codec_context.height,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio else None,
            )
    except av.FFmpegError as error:
        raise BadProviderOutput(f"The result is not a readable video: {error}") from error
    if result.duration_s <= 0 or result.width <= 0 or result.height <= 0:
        raise BadProviderOutput("The result is empty.")
    return result


@dataclass
class Outputs:
    job_id: str
    info: ProbeResult
    mp4: Path
    hls_dir: Path
    poster: Path
    thumbnails: list[Path]
    fingerprint: list[int]
    files: dict[str, Path] = field(default_factory=dict)

    def video_fields(self) -> dict:
        prefix = public_prefix(self.job_id)
        return {
            "duration_s": self.info.duration_s,
            "width": self.info.width,
            "height": self.info.height,
            "mp4": f"{prefix}/video.mp4",
            "hls": f"{prefix}/hls/master.m3u8",
            "poster": f"{prefix}/poster.jpg",
            "thumbnails": [f"{prefix}/thumbs/{path.name}" for path in self.thumbnails],
        }


def public_prefix(job_id) -> str:
    """Where a render's files are stored, in whichever store holds them (the name predates the private store)."""
    return f"videos/{job_id}"


def _watermark_png(text: str, frame_short_side: int, path: Path) -> None:
    size = max(14, frame_short_side // 28)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGBA", (right - left + size, bottom - top + size // 2), (0, 0, 0, 90))
    ImageDraw.Draw(image).text((size // 2 - left, size // 4 - top), text, font=font, fill=(255, 255, 255, 210))
    image.save(path)


def make_mp4(source: Path, destination: Path, *, watermark_png: Path) -> None:
    """H.264/AAC, fast start, with the watermark drifting so it cannot be cropped away."""
    moving = "x='(W-w)*(0.5+0.45*sin(t*0.9))':y='(H-h)*(0.5+0.45*cos(t*0.6))'"
    ffmpeg(
        "-i", str(source), "-i", str(watermark_png),
        "-filter_complex", f"[0:v][1:v]overlay={moving},format=yuv420p[v]",
        "-map", "[v]", "-map", "0:a?",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "22", "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart", str(destination),
    )  # fmt: skip


def make_hls(source: Path, out_dir: Path, *, width: int, height: int, has_audio: bool) -> Path:
    """An HLS ladder from the watermarked MP4; returns the master playlist."""
    out_dir.mkdir(parents=True, exist_ok=True)
    short = min(width, height)
    rungs = [rung for rung in HLS_LADDER if rung <= short] or [short - short % 2]
    split = f"[0:v]split={len(rungs)}" + "".join(f"[s{i}]" for i in range(len(rungs)))
    scales = []
    args: list[str] = []
    stream_map = []
    for i, rung in enumerate(rungs):
        # Scale the short side to the rung, keep the aspect, even sides for 4:2:0.
        scale = f"scale=-2:{rung}" if height <= width else f"scale={rung}:-2"
        scales.append(f"[s{i}]{scale}[v{i}]")
        args += ["-map", f"[v{i}]"]
        if has_audio:
            args += ["-map", "0:a"]
        args += [f"-b:v:{i}", HLS_BITRATES.get(rung, "1500k")]
        stream_map.append(f"v:{i},a:{i},name:{rung}p" if has_audio else f"v:{i},name:{rung}p")
    ffmpeg(
        "-i", str(source),
        "-filter_complex", ";".join([split, *scales]),
        *args,
        "-c:v", "libx264", "-preset", "veryfast", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
        *(["-c:a", "aac", "-b:a", "96k"] if has_audio else []),
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(out_dir / "%v_%03d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(stream_map),
        str(out_dir / "%v.m3u8"),
    )  # fmt: skip
    return out_dir / "master.m3u8"


def make_stills(source: Path, workdir: Path, *, duration_s: float) -> tuple[Path, list[Path]]:
    poster = workdir / "poster.jpg"
    ffmpeg("-ss", f"{min(1.0, duration_s / 2):.2f}", "-i", str(source), "-frames:v", "1", "-q:v", "3", str(poster))
    thumbs_dir = workdir / "thumbs"
    thumbs_dir.mkdir(exist_ok=True)
    thumbnails = []
    for index, fraction in enumerate((0.25, 0.5, 0.75)):
        thumb = thumbs_dir / f"{index}.jpg"
        ffmpeg("-ss", f"{duration_s * fraction:.2f}", "-i", str(source), "-frames:v", "1", "-vf", "scale=240:-2",
               "-q:v", "4", str(thumb))  # fmt: skip
        thumbnails.append(thumb)
    return poster, thumbnails


def _signing_material() -> tuple[bytes, bytes]:
    if settings.C2PA_CERT_PATH and settings.C2PA_KEY_PATH:
        return Path(settings.C2PA_CERT_PATH).read_bytes(), Path(settings.C2PA_KEY_PATH).read_bytes()
    chain, key, _anchor = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
    return chain.read_bytes(), key.read_bytes()


def process(*, job: RenderJob, original: Path, workdir: Path) -> Outputs:
    info = probe(original)
    watermark = workdir / "watermark.png"
    _watermark_png(f"Remix · @{job.requester.handle}", min(info.width, info.height), watermark)
    unsigned = workdir / "unsigned.mp4"
    make_mp4(original, unsigned, watermark_png=watermark)
    signed = workdir / "video.mp4"
    chain_pem, key_pem = _signing_material()
    provenance.sign_mp4(
        source=unsigned,
        destination=signed,
        title=f"Remix video by @{job.requester.handle}",
        metadata={
            "render_id": str(job.id),
            "creator": job.requester.handle,
            "prompt_sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
            "cameo_ids": [str(cameo.id) for cameo in job.cameos.all()],
            "parent_video_id": str(job.source_video_id) if job.source_video_id else None,
            "provider": job.provider,
        },
        chain_pem=chain_pem,
        key_pem=key_pem,
    )
    hls_dir = make_hls(signed, workdir / "hls", width=info.width, height=info.height,
                       has_audio=info.audio_codec is not None).parent  # fmt: skip
    poster, thumbnails = make_stills(signed, workdir, duration_s=info.duration_s)
    return Outputs(
        job_id=str(job.id),
        info=info,
        mp4=signed,
        hls_dir=hls_dir,
        poster=poster,
        thumbnails=thumbnails,
        # The stills too, so an uploaded poster or thumbnail is recognised as well as a frame.
        fingerprint=fingerprint.video_hashes(signed) + [fingerprint.still_hash(path) for path in (poster, *thumbnails)],
    )


def publish(*, job: RenderJob, outputs: Outputs) -> list[str]:
    """Upload every output to the private store; returns the names written.

    The result is a draft, which only its owner and the owners of its cameos may see: its files
    reach the public store once it is shown to everyone (``media/video_files.py``), under the same names.
    """
    prefix = public_prefix(job.id)
    files = {f"{prefix}/video.mp4": outputs.mp4, f"{prefix}/poster.jpg": outputs.poster}
    files |= {f"{prefix}/thumbs/{path.name}": path for path in outputs.thumbnails}
    files |= {f"{prefix}/hls/{path.name}": path for path in sorted(outputs.hls_dir.iterdir())}
    written = []
    try:
        for name, path in files.items():
            written.append(storage.upload(storage.private(), path, name))
    except Exception:
        for name in written:
            storage.private().delete(name)
        raise
    return written


def fingerprint_store(*, video, hashes: list[int]) -> None:
    VideoFingerprint.objects.update_or_create(video=video, defaults={"frame_hashes": fingerprint.to_signed(hashes)})
