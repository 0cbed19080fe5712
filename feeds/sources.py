"""Candidate sources: each answers one question with one query, returning video ids.

The build merges them, so a source only has to be cheap and relevant; the
filters and the ranking decide what is shown.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from backend.cameos.models import Appearance
from backend.core.db_router import lag_tolerant
from backend.creators.models import Follow
from backend.videos.models import Like, Video, VideoHashtag
from feeds import ranking, store


def recent_public() -> QuerySet[Video]:
    """Public posts of the candidate window whose consent stands."""
    since = timezone.now() - timedelta(days=settings.FEED_CANDIDATE_WINDOW_DAYS)
    return Video.objects.shown_to_everyone().filter(published_at__gte=since)


def _ids(queryset: QuerySet[Video]) -> list[int]:
    return list(queryset.values_list("id", flat=True)[: settings.FEED_CANDIDATES_PER_SOURCE])


@lag_tolerant
def following(user_id: int) -> list[int]:
    """Recent posts of people the viewer follows."""
    followees = Follow.objects.filter(follower_id=user_id).values("followee_id")
    return _ids(recent_public().filter(owner_id__in=followees).order_by("-published_at"))


@lag_tolerant
def trending(user_id: int) -> list[int]:
    """Engagement velocity, recomputed by beat (``trending_recompute``); computed and kept here when missing."""
    ids = store.trending_ids(settings.FEED_CANDIDATES_PER_SOURCE)
    if not ids:
        scores = trending_scores()
        store.trending_set(scores)
        ids = list(scores)
    return ids


# Engagement per impression (smoothed), slowed by age: what spreads fastest now.
# In float8 throughout: numeric arithmetic over every recent video is ten times slower.
_TRENDING_SCORE = RawSQL(
    "(like_count + 3 * remix_count + 0.5::float8 * completion_count) / (impression_count + 20::float8) * 100"
    " / power(greatest(1::float8, extract(epoch FROM now() - published_at)::float8 / 3600), 0.8::float8)",
    [],
    output_field=FloatField(),
)


@lag_tolerant
def trending_scores() -> dict[int, float]:
    """The top recent videos by trending score, best first: ranked in PostgreSQL."""
    top = recent_public().annotate(score=_TRENDING_SCORE).order_by("-score", "-id")
    return dict(top.values_list("id", "score")[: settings.FEED_CANDIDATES_PER_SOURCE])


@lag_tolerant
def remixes_of_liked(user_id: int) -> list[int]:
    """Other members of the lineages of what the viewer liked."""
    liked = Like.objects.filter(user_id=user_id).order_by("-created_at").values("video_id")[:50]
    roots = Video.objects.filter(id__in=liked).values_list("root_id", "id")
    lineage_roots = {root_id or video_id for root_id, video_id in roots}
    if not lineage_roots:
        return []
    return _ids(
        recent_public().filter(Q(root_id__in=lineage_roots) | Q(id__in=lineage_roots)).order_by("-published_at")
    )


@lag_tolerant
def cameos_of_mutuals(user_id: int) -> list[int]:
    """Videos starring the cameos of people the viewer follows back and forth."""
    follows = Follow.objects.filter(follower_id=user_id).values("followee_id")
    mutuals = Follow.objects.filter(followee_id=user_id, follower_id__in=follows).values("follower_id")
    with_cameos = Appearance.objects.filter(cameo__owner_id__in=mutuals).values("video_id")
    return _ids(recent_public().filter(id__in=with_cameos).order_by("-published_at"))


@lag_tolerant
def challenges(user_id: int) -> list[int]:
    """Entries of challenges the viewer took part in."""
    mine = VideoHashtag.objects.filter(video__owner_id=user_id, hashtag__is_challenge=True).values("hashtag_id")
    entries = VideoHashtag.objects.filter(hashtag_id__in=mine).values("video_id")
    return _ids(recent_public().filter(id__in=entries).exclude(owner_id=user_id).order_by("-published_at"))


@lag_tolerant
def fresh(user_id: int) -> list[int]:
    """New videos few people have seen yet, so new creators get seen."""
    since = timezone.now() - timedelta(hours=48)
    return _ids(recent_public().filter(published_at__gte=since, impression_count__lt=50).order_by("-published_at"))


def candidates(videos: QuerySet[Video], by_source: dict[int, set[str]]) -> list[ranking.Candidate]:
    """The facts ranking needs of ``videos`` (one query), each with the sources that proposed it."""
    rows = videos.select_related(None).values_list(
        "id", "owner_id", "root_id", "published_at", "impression_count", "like_count", "completion_count",
        "remix_count", "prompt", "caption",
    )  # fmt: skip
    return [
        ranking.Candidate(
            video_id=video_id,
            author_id=owner_id,
            lineage_root_id=root_id or video_id,
            published_at=published_at,
            impressions=impressions,
            likes=likes,
            completions=completions,
            remixes=remixes,
            text=f"{prompt} {caption}",
            sources=frozenset(by_source.get(video_id, ())),
        )
        for video_id, owner_id, root_id, published_at, impressions, likes, completions, remixes, prompt, caption in rows
    ]


SOURCES = {
    "following": following,
    "trending": trending,
    "remixes_of_liked": remixes_of_liked,
    "cameos_of_mutuals": cameos_of_mutuals,
    "challenges": challenges,
    "fresh": fresh,
}
