"""Render pipeline: orchestration cost per job against a bare Celery task, and preview render time.

Both run on one real worker process on the same broker, side by side:

- bare: ``bench.noop`` sent and awaited, one at a time;
- pipeline: a render request with the no-op provider (it hands back a ready
  1-second 480p clip) through request → queue → claim → store → post-process
  (probe, watermark, HLS ladder, poster, C2PA, fingerprint) → draft video;
  the stage timings split claim-to-store from post-processing.

Then the local preview provider renders 10 s at 720x1280.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction

from backend.creators.models import User
from media import services
from media.models import RenderJob
from media.providers.base import RenderSpec
from media.providers.preview import PreviewProvider, ffmpeg
from tests.workers import WorkerProcess

JOBS = 15
BARE_TASKS = 100


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 1),
        "n": len(ordered),
    }


def _bare_latencies() -> list[float]:
    from bench.tasks import noop

    latencies = []
    for _ in range(BARE_TASKS):
        started = time.perf_counter()
        noop.delay().get(timeout=30)
        latencies.append(time.perf_counter() - started)
    return latencies


def _pipeline_latencies(user: User) -> tuple[list[float], dict[str, list[float]]]:
    latencies, stages = [], {}
    for _ in range(JOBS):
        started = time.perf_counter()
        with transaction.atomic():
            job, _ = services.render_job_request(requester=user, idempotency_key=uuid.uuid4().hex,
                                                 prompt="bench", duration_s=1, resolution="480p")  # fmt: skip
        while True:
            job.refresh_from_db(fields=["status", "stage_seconds", "finished_at", "started_at", "created_at"])
            if job.status in RenderJob.FINISHED:
                break
            time.sleep(0.01)
        latencies.append(time.perf_counter() - started)
        if job.status != "succeeded":
            raise RuntimeError(f"bench job {job.id} ended {job.status}: {job.error_code}")
        for stage, seconds in job.stage_seconds.items():
            stages.setdefault(stage, []).append(seconds)
    return latencies, stages


def _preview_seconds() -> list[float]:
    provider = PreviewProvider(output_dir=Path(tempfile.mkdtemp()))
    spec = RenderSpec(prompt="a lighthouse keeper teaching a seagull to dance", duration_s=10, aspect="9:16",
                      width=720, height=1280, caption="@bench")  # fmt: skip
    runs = []
    for run in range(3):
        started = time.perf_counter()
        job = provider.submit(spec, key=f"bench-{run}")
        runs.append(time.perf_counter() - started)
        provider.cancel(job.provider_job_id)
    return runs


def run() -> dict:
    settings.BENCH_CLIP.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=480x852:d=1:r=24", "-f", "lavfi", "-i", "sine=d=1",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(settings.BENCH_CLIP))  # fmt: skip
    settings.RENDER_PROVIDER = "noop"
    user = User.objects.filter(handle="bench_renderer").first() or User.objects.create_user(
        "bench_renderer@example.com", "x", handle="bench_renderer"
    )
    RenderJob.objects.filter(requester=user).delete()
    log = Path(tempfile.mkdtemp()) / "worker.log"
    worker = WorkerProcess(queues="default,renders,media,feeds", concurrency=1, extra_env={}, log_path=log,
                           settings_module="bench.settings", include="bench.tasks")  # fmt: skip
    try:
        _bare_latencies()[:5]  # warm up the pool and connections
        bare = _bare_latencies()
        pipeline, stages = _pipeline_latencies(user)
    finally:
        worker.stop()
    bare_median = statistics.median(bare)
    pipeline_median = statistics.median(pipeline)
    preview = _preview_seconds()
    return {
        "bare_celery_noop_roundtrip": _percentiles(bare),
        "render_job_noop_provider_end_to_end": _percentiles(pipeline),
        "render_stage_seconds_median": {stage: round(statistics.median(v), 3) for stage, v in stages.items()},
        "pipeline_over_bare_ms": round((pipeline_median - bare_median) * 1000, 1),
        "pipeline_to_bare_ratio": round(pipeline_median / bare_median, 1),
        "preview_render_10s_720x1280_seconds": {
            "median": round(statistics.median(preview), 2),
            "runs": [round(r, 2) for r in preview],
        },
        "note": "end to end includes post-processing: watermarked MP4, HLS ladder, poster, thumbnails, C2PA, "
        "fingerprint; one worker process, concurrency 1, 2-core machine",
    }
