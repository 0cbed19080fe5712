"""Scoring and diversity: plain functions over candidates, no I/O.

score = quality x freshness + affinity + steering + exploration, where

- quality is a weighted sum of smoothed engagement rates per impression
  (likes, completions, remixes), each pulled toward a prior so that a video
  with 2 likes out of 2 views does not outrank one with 900 out of 1,000;
- freshness halves every ``half_life_hours``;
- affinity rewards authors the viewer follows or interacted with;
- steering adds or subtracts per topic the viewer asked for more or less of
  (words compared by their stems in the viewer's language, CJK topics found in the text: feeds/steering.py);
- exploration gives new videos with few impressions a chance to be seen.

Weights live in settings ``FEED_RANKING`` (documented there).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from feeds import steering as steering_words


@dataclass(frozen=True)
class Candidate:
    video_id: int
    author_id: int
    lineage_root_id: int
    published_at: datetime
    impressions: int = 0
    likes: int = 0
    completions: int = 0
    remixes: int = 0
    text: str = ""
    sources: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Weights:
    like: float = 3.0
    completion: float = 2.0
    remix: float = 4.0
    prior_impressions: float = 20.0
    prior_like_rate: float = 0.05
    prior_completion_rate: float = 0.3
    prior_remix_rate: float = 0.01
    half_life_hours: float = 36.0
    affinity: float = 0.5
    steering: float = 0.6
    exploration: float = 0.3
    exploration_impressions: int = 50
    max_per_author: int = 2
    max_per_lineage: int = 2
    page_size: int = 10


@dataclass(frozen=True)
class Steering:
    """Topics the viewer asked for more or less of, as word stems in their language (CJK topics as written)."""

    more: frozenset[str] = frozenset()
    less: frozenset[str] = frozenset()
    language: str = "en"

    @classmethod
    def from_words(cls, *, more: Iterable[str] = (), less: Iterable[str] = (), language: str = "en") -> Steering:
        return cls(more=stems(more, language=language), less=stems(less, language=language), language=language)


def stems(words: Iterable[str], *, language: str = "en") -> frozenset[str]:
    """Snowball stems, so that "cats" matches "cat" and "cooking" matches "cook" ("cocinas", "cocinar")."""
    return steering_words.topic_keys(words, language=language)


def _smoothed(count: int, impressions: int, prior_rate: float, prior_impressions: float) -> float:
    return (count + prior_rate * prior_impressions) / (impressions + prior_impressions)


def topics_in(text: str) -> set[str]:
    return {word.strip("#.,!?;:\"'()").casefold() for word in text.split()} - {""}


def score(
    candidate: Candidate,
    *,
    now: datetime,
    weights: Weights,
    affinity: float = 0.0,
    steering: Steering = Steering(),
) -> float:
    w = weights
    quality = (
        w.like * _smoothed(candidate.likes, candidate.impressions, w.prior_like_rate, w.prior_impressions)
        + w.completion
        * _smoothed(candidate.completions, candidate.impressions, w.prior_completion_rate, w.prior_impressions)
        + w.remix * _smoothed(candidate.remixes, candidate.impressions, w.prior_remix_rate, w.prior_impressions)
    )
    age_hours = max(0.0, (now - candidate.published_at).total_seconds() / 3600)
    freshness = math.pow(0.5, age_hours / w.half_life_hours)
    steer = 0.0
    if steering.more or steering.less:
        topics, text = stems(topics_in(candidate.text), language=steering.language), candidate.text.casefold()
        more = steering_words.matched(steering.more, stems=topics, text=text)
        less = steering_words.matched(steering.less, stems=topics, text=text)
        steer = w.steering * (more - 2 * less)
    explore = w.exploration if candidate.impressions < w.exploration_impressions else 0.0
    return quality * freshness + w.affinity * affinity + steer + explore


def rank(
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    weights: Weights,
    affinity: dict[int, float] | None = None,
    steering: Steering = Steering(),
) -> list[Candidate]:
    """Candidates best first; ties by newest, then by id, so the order is stable."""
    affinity = affinity or {}
    scored = [
        (score(c, now=now, weights=weights, affinity=affinity.get(c.author_id, 0.0), steering=steering), c)
        for c in candidates
    ]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].published_at.timestamp(), -pair[1].video_id))
    return [candidate for _, candidate in scored]


def diversify(ranked: Sequence[Candidate], *, weights: Weights) -> list[Candidate]:
    """Reorder so no page holds more than N videos of one author or one lineage.

    Greedy over pages: each page takes the best candidates that still fit its
    per-author and per-lineage limits (at least 1); the rest wait for a later
    page, so nothing is dropped and the best candidate always leads its page.
    """
    remaining = list(ranked)
    ordered: list[Candidate] = []
    while remaining:
        page: list[Candidate] = []
        authors: Counter[int] = Counter()
        lineages: Counter[int] = Counter()
        deferred: list[Candidate] = []
        for index, candidate in enumerate(remaining):
            if len(page) == weights.page_size:
                deferred.extend(remaining[index:])  # a full page looks no further
                break
            if (
                authors[candidate.author_id] < weights.max_per_author
                and lineages[candidate.lineage_root_id] < weights.max_per_lineage
            ):
                page.append(candidate)
                authors[candidate.author_id] += 1
                lineages[candidate.lineage_root_id] += 1
            else:
                deferred.append(candidate)
        ordered.extend(page)
        remaining = deferred
    return ordered
