"""Post-processing cost per second of video: today's pipeline and the one-decode CMAF pipeline, side by side.

For each clip (720x1280 and 1080x1920; 4 s, 15 s and 25 s; 24 fps with audio, made once with
FFmpeg's ``testsrc2`` plus temporal grain so the encoder has texture to spend bits on), each
pipeline runs from the original to every published file (watermark, renditions, download MP4
signed with C2PA, poster, thumbnails, fingerprint):

- ``legacy``: the pipeline before issue 23 (kept here as ``postprocess_legacy``): a watermarked
  CRF 22 MP4, then an HLS ladder (MPEG-TS) decoded from that MP4 with every rung encoded again,
  then the stills and the fingerprint each decoding the MP4 again;
- ``cmaf``: ``media.postprocessing.render_outputs``.

CPU seconds are this process's and its children's (``getrusage``: FFmpeg, and the hashing and
signing done in process), which the other jobs on a shared machine do not inflate the way they
inflate wall time; both are reported, per second of video. Quality is each rung's SSIM against
the watermarked original scaled to the rung (so only encoding loss counts), computed by FFmpeg.

    python -m bench postprocess                         # the full matrix
    BENCH_POSTPROCESS_CASES=1080x1920:25,720x1280:4 python -m bench postprocess
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from django.conf import settings

from backend.core.processes import run_child
from media import fingerprint, postprocessing, provenance
from media.providers.preview import ffmpeg

GRAIN = int(os.environ.get("BENCH_POSTPROCESS_GRAIN", "2"))  # temporal noise strength of the source
QUALITY_SECONDS = 5  # quality is measured on each rendition's first seconds (SSIM at 1080p is slow)
CASES = [(size, seconds) for size in ((720, 1280), (1080, 1920)) for seconds in (4, 15, 25)]
# Bitrates of the HLS rungs before issue 23 (the new ladder keeps them as its nominal bitrates).
LEGACY_BITRATES = {360: "800k", 720: "2800k", 1080: "5000k"}


def make_source(path: Path, *, width: int, height: int, seconds: float) -> Path:
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:d={seconds}:r=24",
               "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
               "-vf", f"noise=alls={GRAIN}:allf=t", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
               "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))  # fmt: skip
    return path


def postprocess_legacy(source: Path, workdir: Path, *, watermark_png: Path, credentials: dict) -> dict:
    """The pipeline as it was before issue 23, for comparison only."""
    info = postprocessing.probe(source)
    unsigned, signed = workdir / "unsigned.mp4", workdir / "video.mp4"
    ffmpeg(
        "-i", str(source), "-i", str(watermark_png),
        "-filter_complex", f"[0:v][1:v]{postprocessing._watermark_overlay()},format=yuv420p[v]",
        "-map", "[v]", "-map", "0:a?",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "22", "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart", str(unsigned),
    )  # fmt: skip
    provenance.sign_mp4(source=unsigned, destination=signed, **credentials)
    out_dir = workdir / "hls"
    out_dir.mkdir()
    short = min(info.width, info.height)
    rungs = [rung for rung in postprocessing.HLS_LADDER if rung <= short] or [short - short % 2]
    graph = [f"[0:v]split={len(rungs)}" + "".join(f"[s{i}]" for i in range(len(rungs)))]
    args: list[str] = []
    stream_map = []
    for i, rung in enumerate(rungs):
        scale = f"scale=-2:{rung}" if info.height <= info.width else f"scale={rung}:-2"
        graph.append(f"[s{i}]{scale}[v{i}]")
        args += ["-map", f"[v{i}]", "-map", "0:a", f"-b:v:{i}", LEGACY_BITRATES.get(rung, "1500k")]
        stream_map.append(f"v:{i},a:{i},name:{rung}p")
    ffmpeg(
        "-i", str(signed), "-filter_complex", ";".join(graph), *args,
        "-c:v", "libx264", "-preset", "veryfast", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "96k",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(out_dir / "%v_%03d.ts"),
        "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(stream_map), str(out_dir / "%v.m3u8"),
    )  # fmt: skip
    poster = workdir / "poster.jpg"
    ffmpeg("-ss", f"{min(1.0, info.duration_s / 2):.2f}", "-i", str(signed), "-frames:v", "1", "-q:v", "3", str(poster))
    thumbnails = []
    for index, fraction in enumerate((0.25, 0.5, 0.75)):
        thumb = workdir / f"thumb{index}.jpg"
        ffmpeg("-ss", f"{info.duration_s * fraction:.2f}", "-i", str(signed), "-frames:v", "1",
               "-vf", "scale=240:-2", "-q:v", "4", str(thumb))  # fmt: skip
        thumbnails.append(thumb)
    hashes = fingerprint.video_hashes(signed) + [fingerprint.still_hash(path) for path in (poster, *thumbnails)]
    renditions = {f"{rung}p": _joined(out_dir, f"{rung}p", ".ts") for rung in rungs}
    return {"renditions": renditions | {"download": signed}, "fingerprint": hashes}


def postprocess_cmaf(source: Path, workdir: Path, *, watermark_png: Path, credentials: dict) -> dict:
    outputs = postprocessing.render_outputs(source, workdir, job_id="bench", handle="bench", credentials=credentials)
    renditions = {path.stem: _joined(outputs.hls_dir, path.stem, ".m4s") for path in outputs.hls_dir.glob("*p.m3u8")}
    return {"renditions": renditions | {"download": outputs.mp4}, "fingerprint": outputs.fingerprint}


def _joined(hls_dir: Path, name: str, extension: str) -> Path:
    """A rung's segments (after its init segment, for CMAF) as one playable file."""
    joined = hls_dir.parent / f"rung-{name}{'.mp4' if extension == '.m4s' else '.ts'}"
    parts = sorted(hls_dir.glob(f"{name}_init.mp4")) + sorted(hls_dir.glob(f"{name}_[0-9]*{extension}"))
    with open(joined, "wb") as target:
        for part in parts:
            target.write(part.read_bytes())
    return joined


def rung_quality(
    source: Path, rendition: Path, *, watermark_png: Path, metric: str = "ssim", seconds: float = QUALITY_SECONDS
) -> float:
    """SSIM (0..1) or VMAF (0..100) of ``rendition``'s first ``seconds`` against the watermarked ``source``."""
    size = postprocessing.probe(rendition)
    measure = "libvmaf=n_threads=2" if metric == "vmaf" else "ssim"
    graph = (
        f"[1:v][2:v]{postprocessing._watermark_overlay()},format=yuv420p,scale={size.width}:{size.height}[ref];"
        f"[0:v]format=yuv420p[dist];[dist][ref]{measure}"
    )
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-t", str(seconds), "-i", str(rendition),
               "-t", str(seconds), "-i", str(source), "-i", str(watermark_png), "-filter_complex", graph,
               "-f", "null", "-"]  # fmt: skip
    stderr = run_child(command, timeout=600).stderr.decode(errors="replace")
    found = re.search(r"VMAF score: ([\d.]+)" if metric == "vmaf" else r"SSIM .*All:([\d.]+)", stderr)
    if found is None:
        raise RuntimeError(f"no {metric} in FFmpeg's output: {stderr[-1500:]}")
    return float(found.group(1))


def _child_cpu(*args: str) -> float:
    """CPU seconds of one FFmpeg run."""
    before = _cpu_seconds()
    ffmpeg(*args)
    return _cpu_seconds() - before


def stages(source: Path, workdir: Path, *, credentials: dict) -> dict:
    """Where the new pipeline's CPU time goes, for one clip: the same FFmpeg work cut short at each
    stage (null outputs), so each stage's cost is a difference; then the pipeline itself, its one
    FFmpeg run apart from what follows it in Python (remux, C2PA signing, fingerprint hashing)."""
    info = postprocessing.probe(source)
    watermark = workdir / "watermark.png"
    postprocessing._watermark_png("Remix · @bench", min(info.width, info.height), watermark)
    rungs = postprocessing.ladder(info.width, info.height)
    null = ["-f", "null", "-"]
    threads = postprocessing.decode_args()  # decoded as the pipeline decodes
    decode = _child_cpu(*threads, "-i", str(source), "-map", "0:v", *null)
    drawn = f"[0:v][1:v]{postprocessing._watermark_overlay()},format=yuv420p"
    watermarked = _child_cpu(*threads, "-i", str(source), "-i", str(watermark), "-filter_complex", drawn, *null)
    graph, outputs, above = [f"{drawn},split=2[top][down]"], ["-map", "[top]", *null], "down"
    for i in range(len(rungs) - 2, -1, -1):  # scaled down the ladder, as the pipeline does
        graph.append(f"[{above}]scale={rungs[i].width}:{rungs[i].height},split=2[v{i}][down{i}]")
        outputs += ["-map", f"[v{i}]", *null]
        above = f"down{i}"
    graph.append(f"[{above}]nullsink")
    scaled = _child_cpu(*threads, "-i", str(source), "-i", str(watermark), "-filter_complex", ";".join(graph), *outputs)
    # The audio rendition as the pipeline makes it: the bench's AAC-LC copied (postprocessing.audio_args).
    audio = _child_cpu("-i", str(source), "-map", "0:a", *postprocessing.audio_args(info), *null)
    spent = {}
    transcode = postprocessing.transcode

    def timed(*args, **kwargs):
        before = _cpu_seconds()
        try:
            return transcode(*args, **kwargs)
        finally:
            spent["ffmpeg"] = _cpu_seconds() - before

    postprocessing.transcode = timed
    try:
        before = _cpu_seconds()
        postprocessing.render_outputs(source, workdir, job_id="bench", handle="bench", credentials=credentials)
        total = _cpu_seconds() - before
    finally:
        postprocessing.transcode = transcode
    cpu_s = {
        "decode": decode,
        "watermark_draw": watermarked - decode,
        "ladder_scaling": scaled - watermarked,
        f"audio_{'copied' if info.audio_copyable else 'aac_once'}": audio,
        "x264_encodes_and_stills": spent["ffmpeg"] - scaled - audio,
        "the_one_ffmpeg_run": spent["ffmpeg"],
        "after_ffmpeg_in_python": total - spent["ffmpeg"],
        "render_outputs_total": total,
    }
    return {"clip": f"{info.width}x{info.height}, {info.duration_s:g} s",
            "cpu_s": {name: round(value, 2) for name, value in cpu_s.items()}}  # fmt: skip


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _credentials() -> dict:
    chain, key, _ = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
    return {"title": "bench", "metadata": {"render_id": "bench"}, "chain_pem": chain.read_bytes(),
            "key_pem": key.read_bytes()}  # fmt: skip


def _cases() -> list[tuple[tuple[int, int], int]]:
    chosen = os.environ.get("BENCH_POSTPROCESS_CASES")
    if not chosen:
        return CASES
    cases = []
    for case in chosen.split(","):
        size, seconds = case.split(":")
        width, height = size.split("x")
        cases.append(((int(width), int(height)), int(seconds)))
    return cases


def run() -> dict:
    load_at_start = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="bench-postprocess-"))
    credentials = _credentials()
    results = []
    try:
        for (width, height), seconds in _cases():
            source = make_source(root / f"source-{width}x{height}-{seconds}.mp4", width=width, height=height,
                                 seconds=seconds)  # fmt: skip
            case = {"size": f"{width}x{height}", "seconds": seconds}
            for name, pipeline in (("legacy", postprocess_legacy), ("cmaf", postprocess_cmaf)):
                workdir = root / name
                shutil.rmtree(workdir, ignore_errors=True)
                workdir.mkdir()
                watermark = workdir / "watermark.png"
                postprocessing._watermark_png("Remix · @bench", min(width, height), watermark)
                cpu, wall = _cpu_seconds(), time.perf_counter()
                made = pipeline(source, workdir, watermark_png=watermark, credentials=credentials)
                cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
                case[name] = {
                    "cpu_s": round(cpu, 2),
                    "cpu_s_per_video_s": round(cpu / seconds, 3),
                    "wall_s": round(wall, 2),
                    "wall_x_realtime": round(wall / seconds, 3),
                    # The best an otherwise idle 2-core machine could do: CPU time spread on both cores.
                    "idle_2_core_x_realtime": round(cpu / 2 / seconds, 3),
                    "ssim": {
                        rung: round(rung_quality(source, path, watermark_png=watermark), 4)
                        for rung, path in made["renditions"].items()
                    },
                    "download_mp4_mb": round(made["renditions"]["download"].stat().st_size / 2**20, 2),
                }
            case["cpu_ratio_cmaf_to_legacy"] = round(case["cmaf"]["cpu_s"] / case["legacy"]["cpu_s"], 3)
            print(case, flush=True)
            results.append(case)
        profiled = None
        if os.environ.get("BENCH_POSTPROCESS_STAGES", "1") == "1":
            (width, height), seconds = max(_cases(), key=lambda case: (case[0][0] * case[0][1], case[1]))
            workdir = root / "stages"
            workdir.mkdir()
            source = make_source(root / f"source-{width}x{height}-{seconds}.mp4", width=width, height=height,
                                 seconds=seconds)  # fmt: skip
            profiled = stages(source, workdir, credentials=credentials)
            print(profiled, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "cases_run": os.environ.get("BENCH_POSTPROCESS_CASES") or "the full matrix",
        "encoder": "libx264: the top rung (the download) ultrafast with CABAC, deblocking and AQ at CRF "
        f"{postprocessing.TOP_RUNG_CRF}, the middle rungs superfast, the smallest veryfast (postprocessing.X264_*); "
        "legacy: veryfast everywhere, the download at CRF 22",
        "audio": "the bench's source audio is AAC-LC (about 69 kbit/s, 44.1 kHz, mono): copied into the audio "
        "rendition and the download by the new pipeline (postprocessing.AUDIO_COPY_*), encoded by the old one",
        "load": f"recorded on a shared 2-CPU machine (1-minute load average {load_at_start:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end): other jobs inflate wall_s first, cpu_s less",
        "profile": profiled,
        "clock": "cpu_s: this process and its children (getrusage); wall_s shares 2 CPUs with other jobs",
        "cases": results,
    }
