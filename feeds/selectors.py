"""Serving the feed: a page of ids from Redis (or PostgreSQL), hydrated into cards.

A page costs a constant number of round trips whatever its position: one or
two Redis calls for the ids, one MGET for cached cards, and for the cards not
cached one SQL query for the videos plus one for their cameos; one query for
what the viewer liked and one for blocks. When Redis fails, the same page
comes from one indexed PostgreSQL query, so the feed never errors because of
the cache.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from redis import RedisError

from backend.cameos.models import Appearance
from backend.core.errors import DomainError
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import blocked_user_ids
from backend.videos.models import Like, Video
from feeds import cursors, store
from media import storage

logger = logging.getLogger(__name__)

FOR_YOU = store.FOR_YOU
FOLLOWING = store.FOLLOWING
CURSOR_MAX_AGE_S = 7 * 24 * 3600


class TeenDailyLimit(DomainError):
    status_code = 429
    default_code = "teen_daily_limit"
    default_detail = "That's enough scrolling for today. See you tomorrow!"


def _url(name: str) -> str | None:
    return storage.public().url(name) if name else None


def cards_build(video_ids: list[int]) -> dict[int, dict]:
    """Cards for videos that may be shown in feeds: two queries, whatever the count."""
    videos = Video.objects.filter(
        id__in=video_ids, status=Video.Status.PUBLISHED, consent_withdrawn_at__isnull=True
    ).select_related("owner")
    cameo_handles: dict[int, list[str]] = {}
    for video_id, handle in Appearance.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "cameo__owner__handle"
    ):
        cameo_handles.setdefault(video_id, []).append(handle)
    return {
        video.id: {
            "id": video.id,
            "author": {"handle": video.owner.handle, "display_name": video.owner.display_name},
            "caption": video.caption,
            "prompt": None if video.prompt_hidden else video.prompt,
            "hls_url": _url(video.hls),
            "mp4_url": _url(video.mp4),
            "poster_url": _url(video.poster),
            "duration_s": video.duration_s,
            "width": video.width,
            "height": video.height,
            "like_count": video.like_count,
            "comment_count": video.comment_count,
            "remix_count": video.remix_count,
            "view_count": video.view_count,
            "remix_of": video.parent_id,
            "cameo_handles": sorted(set(cameo_handles.get(video.id, []))),
            "ai_generated": True,
            "visibility": video.visibility,
            "author_id": video.owner_id,
            "safe_for_teens": video.safe_for_teens,
            "published_at": video.published_at.isoformat(),
        }
        for video in videos
    }


def _viewer_context(viewer_id: int, video_ids: list[int]) -> tuple[set[int], set[int]]:
    """Who is blocked either way, and which of these videos the viewer liked: one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT 'b', CASE WHEN blocker_id = %s THEN blocked_id ELSE blocker_id END
              FROM {Block._meta.db_table} WHERE blocker_id = %s OR blocked_id = %s
            UNION ALL
            SELECT 'l', video_id FROM {Like._meta.db_table} WHERE user_id = %s AND video_id = ANY(%s)
            """,
            [viewer_id, viewer_id, viewer_id, viewer_id, list(video_ids)],
        )
        rows = cursor.fetchall()
    return {value for kind, value in rows if kind == "b"}, {value for kind, value in rows if kind == "l"}


def _viewer_sets(viewer: User, window: dict, ids: list[int]) -> tuple[set[int], set[int]]:
    """Blocked users and liked videos from Redis; loaded from PostgreSQL once when missing."""
    blocked, liked = window["blocked"], window["liked"]
    if blocked is None:
        blocked = blocked_user_ids(viewer.id)
        store.viewer_set_fill(viewer.id, "blocked", blocked)
    if liked is None:
        since = timezone.now() - timedelta(days=settings.FEED_CANDIDATE_WINDOW_DAYS * 2)
        recent = set(Like.objects.filter(user_id=viewer.id, created_at__gte=since).values_list("video_id", flat=True))
        store.viewer_set_fill(viewer.id, "liked", recent)
        liked = recent & set(ids) | set(
            Like.objects.filter(user_id=viewer.id, video_id__in=set(ids) - recent).values_list("video_id", flat=True)
        )
    return blocked, liked


def _hydrate(
    viewer: User,
    video_ids: list[int],
    *,
    use_cache: bool = True,
    cached: dict | None = None,
    context: tuple[set[int], set[int]] | None = None,
) -> list[dict]:
    """Cards with ``liked`` for the viewer, minus blocked authors and (for minors) unsafe videos."""
    if cached is None:
        cached = store.cards_get(video_ids) if use_cache else {}
    missing = [video_id for video_id in video_ids if video_id not in cached]
    fresh = cards_build(missing) if missing else {}
    if use_cache and fresh:
        store.cards_put(fresh)
    cards = cached | fresh
    hidden, liked = context if context is not None else _viewer_context(viewer.id, video_ids)
    page = []
    for video_id in video_ids:
        card = cards.get(video_id)
        if card is None or card["author_id"] in hidden or (viewer.is_teen and not card["safe_for_teens"]):
            continue
        page.append({**card, "liked": video_id in liked})
    return page


def _check_teen_limit(viewer: User) -> None:
    if viewer.is_teen and store.teen_cards_used(viewer.id) >= settings.FEED_TEEN_DAILY_CARDS:
        raise TeenDailyLimit(details={"daily_cards": settings.FEED_TEEN_DAILY_CARDS})


def feed_page(*, viewer: User, kind: str, cursor: str | None = None) -> dict:
    """One page of ``kind`` for ``viewer``: ``{"results": [...cards], "next": cursor}``."""
    position = cursors.decode(cursor, kind=kind, user_id=viewer.id, max_age_s=CURSOR_MAX_AGE_S) if cursor else None
    try:
        _check_teen_limit(viewer)
        if kind == FOR_YOU:
            page, next_position = _for_you(viewer, position)  # records what it served itself
        else:
            page, next_position = _following(viewer, position)
            store.mark_seen(viewer.id, [card["id"] for card in page])
        if viewer.is_teen:
            store.teen_cards_today(viewer.id, len(page))
    except RedisError:
        logger.warning("feed for %s served from PostgreSQL: Redis failed", viewer.id, exc_info=True)
        page, next_position = _from_database(viewer, kind, position)
    next_cursor = cursors.encode(kind=kind, user_id=viewer.id, position=next_position) if next_position else None
    return {"results": page, "next": next_cursor}


def _for_you(viewer: User, position) -> tuple[list[dict], object]:
    from feeds.tasks import refill_feed

    if isinstance(position, dict) and position.get("db"):
        return _from_database(viewer, FOR_YOU, position)
    exists, head = store.for_you_state(viewer.id)
    if position is None and not exists:
        from feeds.services import feed_build

        feed_build(user=viewer)  # a cold feed is built on the spot: the first page must not wait for a worker
    # Opening the app again continues where the viewer stopped.
    after = float(position) if position is not None else head
    page: list[dict] = []
    remaining = 0
    # Cards may drop out (blocked, removed or seen elsewhere since): read on until the page is full.
    for _ in range(3):
        wanted = settings.FEED_PAGE_SIZE - len(page)
        window = store.for_you_window(viewer.id, after=after, limit=wanted)
        ids = []
        scanned = 0
        for video_id, position_of in window["rows"]:
            if len(ids) == wanted:
                break
            after = position_of
            scanned += 1
            if video_id not in window["hidden"] and video_id not in window["seen"]:
                ids.append(video_id)
        remaining = window["remaining"] - scanned
        context = _viewer_sets(viewer, window, ids)
        page += _hydrate(viewer, ids, cached={i: c for i, c in window["cards"].items() if i in ids}, context=context)
        if len(page) >= settings.FEED_PAGE_SIZE or remaining <= 0:
            break
    store.for_you_served(viewer.id, head=after if after > head else None, video_ids=[card["id"] for card in page])
    if remaining < settings.FEED_REFILL_BELOW and store.refill_claim(viewer.id):
        refill_feed.delay(user_id=viewer.id)
    if not page and not remaining:
        return [], None
    return page, after


def _following(viewer: User, position) -> tuple[list[dict], object]:
    if isinstance(position, dict) and position.get("db"):
        return _from_database(viewer, FOLLOWING, position)
    before = float(position) if position is not None else float("inf")
    stored = store.following_page(viewer.id, before=before, limit=settings.FEED_PAGE_SIZE)
    merged = dict(stored)
    # Large accounts are not fanned out: their recent posts are merged in here.
    big = Follow.objects.filter(
        follower_id=viewer.id, followee__follower_count__gt=settings.FEED_FANOUT_MAX_FOLLOWERS
    ).values("followee_id")
    published = Video.objects.filter(owner_id__in=big, status=Video.Status.PUBLISHED, consent_withdrawn_at__isnull=True)
    if before != float("inf"):
        published = published.filter(published_at__lt=datetime.fromtimestamp(before, tz=UTC))
    for video_id, published_at in published.order_by("-published_at").values_list("id", "published_at")[
        : settings.FEED_PAGE_SIZE
    ]:
        merged[video_id] = published_at.timestamp()
    newest = sorted(merged.items(), key=lambda item: (-item[1], -item[0]))[: settings.FEED_PAGE_SIZE]
    if not newest:
        return [], None
    return _hydrate(viewer, [video_id for video_id, _ in newest]), newest[-1][1]


def _from_database(viewer: User, kind: str, position) -> tuple[list[dict], object]:
    """The fallback: newest visible posts by keyset ``(published_at, id)``, from one indexed query."""
    videos = Video.objects.filter(status=Video.Status.PUBLISHED, consent_withdrawn_at__isnull=True).exclude(
        owner_id__in=blocked_user_ids(viewer.id) | {viewer.id}
    )
    if kind == FOLLOWING:
        videos = videos.filter(
            owner_id__in=Follow.objects.filter(follower_id=viewer.id).values("followee_id"),
            visibility__in=[Video.Visibility.PUBLIC, Video.Visibility.FOLLOWERS],
        )
    else:
        videos = videos.filter(visibility=Video.Visibility.PUBLIC)
    if viewer.is_teen:
        videos = videos.filter(safe_for_teens=True)
    if isinstance(position, dict) and position.get("db"):
        published_at = datetime.fromisoformat(position["t"])
        videos = videos.filter(Q(published_at__lt=published_at) | Q(published_at=published_at, id__lt=position["id"]))
    rows = list(videos.order_by("-published_at", "-id").values_list("id", "published_at")[: settings.FEED_PAGE_SIZE])
    if not rows:
        return [], None
    page = _hydrate(viewer, [video_id for video_id, _ in rows], use_cache=False)
    last_id, last_published = rows[-1]
    return page, {"db": True, "t": last_published.isoformat(), "id": last_id}
