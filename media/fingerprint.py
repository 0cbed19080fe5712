"""Perceptual fingerprints of video frames, robust to re-encoding, scaling and small crops.

Each sampled frame becomes a 64-bit DCT hash (pHash): the frame's centre
(cropping a few percent off each edge first, so a small crop of a copy changes
little), in grey, shrunk to 32x32, transformed with a 2-D DCT, and the 8x8
lowest frequencies (minus the DC term) compared with their median. Copies of a
video differ in a few bits; unrelated frames differ in about half.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

HASH_SIZE = 8
SAMPLE_SIZE = 32
CENTRE = 0.9  # keep the middle 90% of each side
MATCH_DISTANCE = 12  # bits


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(SAMPLE_SIZE)


def image_hash(image: Image.Image) -> int:
    width, height = image.size
    margin_x, margin_y = int(width * (1 - CENTRE) / 2), int(height * (1 - CENTRE) / 2)
    centre = image.crop((margin_x, margin_y, width - margin_x, height - margin_y))
    grey = np.asarray(centre.convert("L").resize((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.LANCZOS), dtype=float)
    low = (_DCT @ grey @ _DCT.T)[:HASH_SIZE, :HASH_SIZE].flatten()[1:]
    bits = low > np.median(low)
    return int("".join("1" if bit else "0" for bit in bits), 2)


def still_hash(path: Path) -> int:
    with Image.open(path) as image:
        return image_hash(image.convert("RGB"))


def video_hashes(path: Path, *, per_second: float = 1.0, limit: int = 120) -> list[int]:
    """One hash per sampled frame (about ``per_second`` a second)."""
    hashes: list[int] = []
    next_time = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is None or frame.time + 1e-6 < next_time:
                continue
            hashes.append(image_hash(frame.to_image()))
            next_time = frame.time + 1 / per_second
            if len(hashes) >= limit:
                break
    return hashes


def to_signed(hashes: list[int]) -> list[int]:
    """For PostgreSQL's signed bigint."""
    return [h - (1 << 64) if h >= 1 << 63 else h for h in hashes]


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
