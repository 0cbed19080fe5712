"""Provenance lookup against 100,000 stored fingerprints (10 frame hashes each).

Measures the match alone (the vectorised Hamming scan over one million
hashes, after the index is loaded) and a whole lookup of a 4-second clip
through ``media.provenance_lookup`` (decode, hash, C2PA read, match).
"""

from __future__ import annotations

import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from backend.creators.models import User
from backend.videos.models import Video
from media import fingerprint, provenance_lookup
from media.models import VideoFingerprint
from media.providers.preview import ffmpeg

FINGERPRINTS = 100_000
FRAMES = 10


def _ensure_videos() -> list[int]:
    ids = list(Video.objects.order_by("id").values_list("id", flat=True)[:FINGERPRINTS])
    if len(ids) >= FINGERPRINTS:
        return ids
    owner = User.objects.filter(handle="bench_provenance").first() or User.objects.create_user(
        "bench_provenance@example.com", "x", handle="bench_provenance"
    )
    Video.objects.bulk_create(
        [Video(owner=owner, prompt="bench", status="published") for _ in range(FINGERPRINTS - len(ids))],
        batch_size=5000,
    )
    return list(Video.objects.order_by("id").values_list("id", flat=True)[:FINGERPRINTS])


def _load(video_ids: list[int], planted: tuple[int, list[int]]) -> None:
    rng = random.Random(7)
    rows = io.StringIO()
    for video_id in video_ids:
        hashes = planted[1] if video_id == planted[0] else [rng.getrandbits(64) for _ in range(FRAMES)]
        signed = fingerprint.to_signed(hashes)
        rows.write(f"{video_id}\t{{{','.join(map(str, signed))}}}\t2026-11-01T00:00:00+00:00\n")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {VideoFingerprint._meta.db_table}")
        with cursor.copy(
            f"COPY {VideoFingerprint._meta.db_table} (video_id, frame_hashes, created_at) FROM STDIN"
        ) as copy:
            copy.write(rows.getvalue())


def run() -> dict:
    workdir = Path(tempfile.mkdtemp())
    clip = workdir / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:d=4:r=24", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    copy = workdir / "copy.mp4"
    ffmpeg("-i", str(clip), "-vf", "scale=320:-2", "-b:v", "150k", str(copy))
    video_ids = _ensure_videos()
    planted = video_ids[len(video_ids) // 2]
    _load(video_ids, (planted, fingerprint.video_hashes(clip)))
    started = time.perf_counter()
    provenance_lookup.best_match([0])
    index_load_s = time.perf_counter() - started
    query = fingerprint.video_hashes(copy)
    match_times, lookup_times = [], []
    for _ in range(20):
        started = time.perf_counter()
        match = provenance_lookup.best_match(query)
        match_times.append(time.perf_counter() - started)
    for _ in range(5):
        upload = SimpleUploadedFile("copy.mp4", copy.read_bytes())
        started = time.perf_counter()
        result = provenance_lookup.lookup(upload)
        lookup_times.append(time.perf_counter() - started)
    return {
        "fingerprints": VideoFingerprint.objects.count(),
        "frame_hashes": VideoFingerprint.objects.count() * FRAMES,
        "found_planted_video": match is not None and match[0] == planted and result["match"][0] == planted,
        "index_load_seconds_once_per_process": round(index_load_s, 2),
        "match_ms": {
            "median": round(statistics.median(match_times) * 1000, 1),
            "max": round(max(match_times) * 1000, 1),
            "query_frames": len(query),
        },
        "whole_lookup_of_a_4s_clip_ms": {"median": round(statistics.median(lookup_times) * 1000, 1)},
    }
