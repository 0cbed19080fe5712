"""From a provider's original to what viewers get: probe, watermark, ladder, sign, fingerprint.

One FFmpeg run decodes the original once, draws the visible watermark once ("Remix · @handle",
drifting around the frame so it cannot be cropped away) and splits the watermarked frames into:

- one encode per rung of the ladder (the 360p and 720p rungs below the source, and the source
  size itself as the top rung; each lower rung scaled from the one above it), keyframes every 2 s
  on every rung, written as CMAF (fragmented MP4 segments) with an HLS playlist per rung, one
  audio rendition that every rung plays (the source's AAC packets copied when they are AAC-LC a
  stream may carry as they are, see AUDIO_COPY_*; otherwise encoded once), and a master playlist;
- the poster, three thumbnails and the frames of the perceptual fingerprint (one a second).

The MP4 a user downloads is the top rung's encode and the audio rendition remuxed (init and
segments joined, then ``-c copy`` with ``+faststart``), never encoded again, and signed with a C2PA manifest. The
segments are handed to ``provenance.sign_fragments`` for their own credentials (see there for
what this build of c2pa-python can do). The encoder is ``MEDIA_ENCODER`` (libx264 by default).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from backend.core import storage
from media import fingerprint, provenance
from media.models import RenderJob, VideoFingerprint
from media.providers.preview import ffmpeg

logger = logging.getLogger(__name__)

# Short side of each rung and its nominal video bitrate (kbit/s): the HLS BANDWIDTH budget of the
# lower rungs, which are encoded at that average bitrate (as before), and the base of every cap.
HLS_LADDER = (360, 720, 1080)
HLS_BITRATES_KBPS = {360: 800, 720: 2800, 1080: 5000}
# The top rung is also the download: constant quality, uncapped (a cap at 1.6x nominal cost grainy
# clips SSIM). Lower rungs peak at 1.6x their bitrate.
TOP_RUNG_CRF = 25.5
MAXRATE_FACTOR, BUFSIZE_FACTOR = 1.6, 2.0
# libx264 settings per rung, chosen for CPU time at the old pipeline's quality or better (VMAF in
# tests/media/test_postprocessing.py, SSIM in bench/bench_postprocess.py). The top rung: ultrafast's
# speed (no B-frames, no sub-pixel refinement, one reference) with what buys the most bits back,
# CABAC, the deblocking filter and adaptive quantisation, at CRF 25.5 (the old download's veryfast
# CRF 22 took 2.5x its CPU for about a quarter fewer bytes). Middle rungs: superfast at their bitrate. The
# smallest rung stays veryfast: it is cheap, and superfast lost SSIM there. One encoder thread
# each below the top, as the rungs already run side by side (threads cost CPU on two cores).
X264_TOP = {"preset": "ultrafast", "threads": 0, "params": "cabac=1:deblock=1,0:aq-mode=1"}
X264_LOWER = {"preset": "superfast", "threads": 1, "params": ""}
X264_SMALLEST = {"preset": "veryfast", "threads": 1, "params": ""}
# Decoding threads: on a worker of two cores or fewer, one (frame threads cost about 6% more CPU to
# decode, and the three encodes keep both cores busy anyway); on a larger one, FFmpeg's choice, so
# the decode does not hold the encoders back.
DECODE_THREADS_MAX_CORES = 2
SEGMENT_SECONDS = 2  # one keyframe at the start of every segment, on every rung
AUDIO_KBPS = 128  # one AAC rendition (HLS audio group) shared by every rung, and the download's
AUDIO_RENDITION = "audio"
# The source's audio is that rendition as it is (its packets copied, not decoded) when any player
# plays it and it is no heavier than a stream should carry: AAC-LC, at most 192 kbit/s, 44.1 or
# 48 kHz, mono or stereo. Anything else (HE-AAC, Opus, MP3, 320 kbit/s, 96 kHz, 5.1, an unknown
# bitrate) is encoded to AAC-LC at AUDIO_KBPS, 48 kHz when its rate is another one, stereo at most.
AUDIO_COPY_MAX_KBPS = 192
AUDIO_COPY_RATES = (44100, 48000)
# The MEDIA_ENCODER choices and their options (speed, rate control, no scene-cut keyframes).
_ENCODER_OPTIONS = {
    "libx264": ["-sc_threshold", "0"],  # the preset per rung: X264_TOP, X264_LOWER, X264_SMALLEST
    "h264_nvenc": ["-preset", "p4", "-rc", "vbr", "-no-scenecut", "1"],
    "h264_qsv": ["-preset", "veryfast"],
    "h264_vaapi": ["-rc_mode", "VBR"],
}
VAAPI_DEVICE = "/dev/dri/renderD128"


class BadProviderOutput(Exception):
    """The provider returned something that is not a playable video."""


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    frame_rate: float = 24.0
    audio_profile: str | None = None  # "LC" for AAC-LC
    audio_kbps: float | None = None  # None when the container does not say
    audio_sample_rate: int | None = None
    audio_channels: int | None = None

    @property
    def audio_copyable(self) -> bool:
        """Whether the source's audio can be the AAC rendition as it is (AUDIO_COPY_*)."""
        return (
            (self.audio_codec, self.audio_profile) == ("aac", "LC")
            and self.audio_kbps is not None
            and self.audio_kbps <= AUDIO_COPY_MAX_KBPS
            and self.audio_sample_rate in AUDIO_COPY_RATES
            and self.audio_channels in (1, 2)
        )


def probe(path: Path) -> ProbeResult:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadProviderOutput("The result has no video stream.")
            video = container.streams.video[0]
            audio = container.streams.audio[0].codec_context if container.streams.audio else None
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            result = ProbeResult(
                duration_s=round(duration, 3),
                width=video.codec_context.width,
                height=video.codec_context.height,
                video_codec=video.codec_context.name,
                audio_codec=audio.name if audio else None,
                frame_rate=float(video.average_rate or video.guessed_rate or 24),
                audio_profile=audio.profile if audio else None,
                audio_kbps=audio.bit_rate / 1000 if audio and audio.bit_rate else None,
                audio_sample_rate=audio.sample_rate if audio else None,
                audio_channels=audio.channels if audio else None,
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
    segments_signed: bool = False

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


@dataclass(frozen=True)
class Rung:
    short_side: int
    width: int
    height: int
    bitrate_kbps: int  # nominal: the lower rungs' target, every rung's cap base
    top: bool

    @property
    def name(self) -> str:
        return f"{self.short_side}p"


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def ladder(width: int, height: int) -> list[Rung]:
    """The ladder rungs below the source, then the source size as the top rung (the download)."""
    short = min(width, height)
    top = short - short % 2
    sides = [side for side in HLS_LADDER if side < top] + [top]
    rungs = []
    for side in sides:
        scale = side / short
        size = (side, _even(height * scale)) if width <= height else (_even(width * scale), side)
        # A top rung between ladder steps is budgeted as the next step up; above 1080p, by area.
        nominal = next((HLS_BITRATES_KBPS[step] for step in HLS_LADDER if step >= side), None)
        nominal = nominal or int(HLS_BITRATES_KBPS[1080] * (side / 1080) ** 2)
        rungs.append(Rung(side, size[0], size[1], nominal, top=side == top))
    return rungs


def _watermark_overlay() -> str:
    moving = "x='(W-w)*(0.5+0.45*sin(t*0.9))':y='(H-h)*(0.5+0.45*cos(t*0.6))'"
    return f"overlay={moving}"


def _first_frames_at(times: list[float]) -> str:
    """A ``select`` expression keeping the first frame at or after each of ``times`` (ascending)."""
    terms = [f"gte(t,{times[0]:.3f})*isnan(prev_selected_t)"]
    terms += [f"gte(t,{moment:.3f})*lt(prev_selected_t,{moment:.3f})" for moment in times[1:]]
    return "+".join(terms)


def still_times(duration_s: float) -> tuple[float, list[float]]:
    """When the poster and the three thumbnails are taken."""
    return min(1.0, duration_s / 2), [duration_s * fraction for fraction in (0.25, 0.5, 0.75)]


def decode_args() -> list[str]:
    """The input options that set the decoding threads (DECODE_THREADS_MAX_CORES), by the cores this process may
    run on (a container's limit on Linux; macOS has no affinity call)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ["-threads", "1"] if cores <= DECODE_THREADS_MAX_CORES else []


def audio_args(info: ProbeResult) -> list[str]:
    """The audio rendition's codec options: the source's AAC packets copied, or AAC-LC at AUDIO_KBPS."""
    if info.audio_copyable:
        return ["-c:a", "copy"]
    args = ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k"]
    args += [] if info.audio_sample_rate in AUDIO_COPY_RATES else ["-ar", "48000"]
    return args + (["-ac", "2"] if (info.audio_channels or 0) > 2 else [])


def transcode(
    source: Path,
    workdir: Path,
    *,
    info: ProbeResult,
    watermark_png: Path,
    encoder: str | None = None,
) -> tuple[Path, list[Rung]]:
    """The one decode: every rung's CMAF segments and playlists under ``workdir/hls``, the poster,
    the thumbnails under ``workdir/thumbs`` and the fingerprint frames under ``workdir/frames``."""
    encoder = encoder or settings.MEDIA_ENCODER
    hls_dir, thumbs_dir, frames_dir = workdir / "hls", workdir / "thumbs", workdir / "frames"
    for folder in (hls_dir, thumbs_dir, frames_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rungs = ladder(info.width, info.height)
    has_audio = info.audio_codec is not None
    gop = max(1, round(info.frame_rate * SEGMENT_SECONDS))
    upload = ",format=nv12,hwupload" if encoder == "h264_vaapi" else ""
    n = len(rungs)
    # The watermarked frames go to the top rung, the stills, the fingerprint and (when there are lower
    # rungs) down the ladder: each lower rung is scaled from the one above it, not from the source.
    top_size = (rungs[-1].width, rungs[-1].height)
    top_scale = "" if top_size == (info.width, info.height) else f",scale={top_size[0]}:{top_size[1]}"
    branches = ["top", "poster", "thumbs", "frames"] + (["down"] if n > 1 else [])
    graph = [
        f"[0:v][1:v]{_watermark_overlay()},format=yuv420p{top_scale},split={len(branches)}"
        + "".join(f"[{name}]" for name in branches),
        f"[top]null{upload}[v{n - 1}]",
    ]
    above = "down"
    for i in range(n - 2, -1, -1):  # from the rung under the top one down to the smallest
        scaled = f"[{above}]scale={rungs[i].width}:{rungs[i].height}"
        if i == 0:
            graph.append(f"{scaled}{upload}[v0]")
        else:  # the rung below is scaled from this one's frames
            graph += [f"{scaled},split=2[s{i}][down{i}]", f"[s{i}]null{upload}[v{i}]"]
            above = f"down{i}"
    poster_at, thumb_times = still_times(info.duration_s)
    graph.append(f"[poster]select='{_first_frames_at([poster_at])}'[poster_out]")
    graph.append(f"[thumbs]select='{_first_frames_at(thumb_times)}',scale=240:-2[thumbs_out]")
    # One frame a second, as fingerprint.video_hashes samples a file; small, since a hash is 32x32.
    smallest = rungs[0]
    graph.append(f"[frames]select='isnan(prev_selected_t)+gte(t+0.000001-prev_selected_t,1)',"
                 f"scale={smallest.width}:{smallest.height}[frames_out]")  # fmt: skip
    video_args: list[str] = []
    stream_map = []
    for i, rung in enumerate(rungs):
        video_args += ["-map", f"[v{i}]"]
        maxrate, bufsize = int(rung.bitrate_kbps * MAXRATE_FACTOR), int(rung.bitrate_kbps * BUFSIZE_FACTOR)
        if encoder == "libx264":
            tuning = X264_TOP if rung.top else X264_SMALLEST if i == 0 else X264_LOWER
            video_args += [f"-preset:v:{i}", tuning["preset"], f"-threads:v:{i}", str(tuning["threads"])]
            video_args += [f"-x264-params:v:{i}", tuning["params"]] if tuning["params"] else []
        if rung.top and encoder == "libx264":
            video_args += [f"-crf:v:{i}", str(TOP_RUNG_CRF)]
        else:  # a hardware encoder's top rung aims at the cap
            video_args += [f"-b:v:{i}", f"{maxrate if rung.top else rung.bitrate_kbps}k"]
            video_args += [f"-maxrate:v:{i}", f"{maxrate}k", f"-bufsize:v:{i}", f"{bufsize}k"]
        stream_map.append(f"v:{i},agroup:audio,name:{rung.name}" if has_audio else f"v:{i},name:{rung.name}")
    if has_audio:  # one audio rendition, copied or encoded once, that every rung plays
        video_args += ["-map", "0:a:0", *audio_args(info)]
        stream_map.insert(0, f"a:0,agroup:audio,name:{AUDIO_RENDITION},default:yes")
    device = ["-vaapi_device", VAAPI_DEVICE] if encoder == "h264_vaapi" else []
    device += decode_args()
    one = len(stream_map) == 1  # one variant: no %v in its init segment's name
    init_name = f"{rungs[0].name}_init.mp4" if one else "%v_init.mp4"
    ffmpeg(
        *device, "-i", str(source), "-i", str(watermark_png),
        "-filter_complex", ";".join(graph),
        *video_args,
        "-c:v", encoder, *_ENCODER_OPTIONS[encoder], "-g", str(gop), "-keyint_min", str(gop),
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", init_name,
        "-hls_segment_filename", str(hls_dir / "%v_%03d.m4s"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(stream_map),
        str(hls_dir / "%v.m3u8"),
        "-map", "[poster_out]", "-fps_mode", "passthrough", "-frames:v", "1", "-q:v", "3",
        str(workdir / "poster.jpg"),
        "-map", "[thumbs_out]", "-fps_mode", "passthrough", "-frames:v", "3", "-q:v", "4", "-start_number", "0",
        str(thumbs_dir / "%d.jpg"),
        "-map", "[frames_out]", "-fps_mode", "passthrough", "-frames:v", "120", "-start_number", "0",
        str(frames_dir / "%03d.bmp"),
    )  # fmt: skip
    return hls_dir / "master.m3u8", rungs


def rung_segments(hls_dir: Path, name: str) -> tuple[Path, list[Path]]:
    """A rung's init segment and its media segments, in playing order."""
    return hls_dir / f"{name}_init.mp4", sorted(hls_dir.glob(f"{name}_*.m4s"))


def _join(hls_dir: Path, name: str, destination: Path) -> Path:
    init, segments = rung_segments(hls_dir, name)
    with open(destination, "wb") as target:
        for part in (init, *segments):
            with open(part, "rb") as chunk:
                shutil.copyfileobj(chunk, target)
    return destination


def remux_download(hls_dir: Path, rung: Rung, destination: Path) -> None:
    """The top rung's encode (and the audio rendition, when there is one) as one progressive MP4
    (moov first): joined and remuxed, not re-encoded."""
    inputs = [_join(hls_dir, rung.name, destination.with_name("joined-video.mp4"))]
    if (hls_dir / f"{AUDIO_RENDITION}_init.mp4").exists():
        inputs.append(_join(hls_dir, AUDIO_RENDITION, destination.with_name("joined-audio.mp4")))
    command = [arg for joined in inputs for arg in ("-i", str(joined))]
    command += ["-map", "0:v"] + (["-map", "1:a"] if len(inputs) > 1 else [])
    ffmpeg(*command, "-c", "copy", "-movflags", "+faststart", str(destination))
    for joined in inputs:
        joined.unlink()


def _signing_material() -> tuple[bytes, bytes]:
    if settings.C2PA_CERT_PATH and settings.C2PA_KEY_PATH:
        return Path(settings.C2PA_CERT_PATH).read_bytes(), Path(settings.C2PA_KEY_PATH).read_bytes()
    chain, key, _anchor = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
    return chain.read_bytes(), key.read_bytes()


def process(*, job: RenderJob, original: Path, workdir: Path) -> Outputs:
    chain_pem, key_pem = _signing_material()
    credentials = {
        "title": f"Remix video by @{job.requester.handle}",
        "metadata": {
            "render_id": str(job.id),
            "creator": job.requester.handle,
            "prompt_sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
            "cameo_ids": [str(cameo.id) for cameo in job.cameos.all()],
            "parent_video_id": str(job.source_video_id) if job.source_video_id else None,
            "provider": job.provider,
        },
        "chain_pem": chain_pem,
        "key_pem": key_pem,
    }
    return render_outputs(original, workdir, job_id=str(job.id), handle=job.requester.handle, credentials=credentials)


def render_outputs(original: Path, workdir: Path, *, job_id: str, handle: str, credentials: dict) -> Outputs:
    """Everything a render publishes, from its original, in ``workdir``; ``credentials`` are
    ``provenance.sign_mp4``'s title, metadata and signing material."""
    info = probe(original)
    watermark = workdir / "watermark.png"
    _watermark_png(f"Remix · @{handle}", min(info.width, info.height), watermark)
    master, rungs = transcode(original, workdir, info=info, watermark_png=watermark)
    unsigned, signed = workdir / "unsigned.mp4", workdir / "video.mp4"
    poster, thumbnails = workdir / "poster.jpg", sorted((workdir / "thumbs").glob("*.jpg"))

    def download() -> None:  # FFmpeg's remux and c2pa's signing, which let go of the GIL
        remux_download(master.parent, rungs[-1], unsigned)
        provenance.sign_mp4(source=unsigned, destination=signed, **credentials)
        unsigned.unlink()

    # The download is remuxed and signed on the second core while this one hashes the frames.
    with ThreadPoolExecutor(max_workers=1) as pool:
        made = pool.submit(download)
        frame_hashes = [fingerprint.still_hash(path) for path in sorted((workdir / "frames").glob("*.bmp"))]
        still_hashes = [fingerprint.still_hash(path) for path in (poster, *thumbnails)]
        made.result()
    shutil.rmtree(workdir / "frames")
    segments_signed = sign_segments(master.parent, rungs, credentials)
    return Outputs(
        job_id=job_id,
        info=info,
        mp4=signed,
        hls_dir=master.parent,
        poster=poster,
        thumbnails=thumbnails,
        # The stills too, so an uploaded poster or thumbnail is recognised as well as a frame.
        fingerprint=frame_hashes + still_hashes,
        segments_signed=segments_signed,
    )


def renditions(hls_dir: Path, rungs: list[Rung]) -> list[str]:
    """The names of every rendition's segments: each rung's, and the audio rendition's when there is one."""
    audio = [AUDIO_RENDITION] if (hls_dir / f"{AUDIO_RENDITION}_init.mp4").exists() else []
    return [rung.name for rung in rungs] + audio


def sign_segments(hls_dir: Path, rungs: list[Rung], credentials: dict) -> bool:
    """Put content credentials on every rendition's init and media segments, in place; False when
    this build cannot (the segments then play unsigned, and the download keeps its manifest)."""
    try:
        for name in renditions(hls_dir, rungs):
            init, segments = rung_segments(hls_dir, name)
            provenance.sign_fragments(init=init, segments=segments, **credentials)
    except NotImplementedError as reason:
        logger.debug("HLS segments left unsigned: %s", reason)
        return False
    return True


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
