"""Serving the feed: a page of ids from Redis (or PostgreSQL), hydrated into cards.

A warm for-you page costs two Redis round trips and no SQL: one script over
the viewer's keys (take the next unseen ids, mark them seen, move the read
head, read the viewer's likes and blocks) and one MGET of the shared cards (a
removed video's is a tombstone); cards are served as the JSON they were cached as. A card not
cached costs one SQL query for the videos plus one for their cameos, whatever
their count. When Redis fails, the same page comes from one indexed PostgreSQL
query, so the feed never errors because of the cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from redis import RedisError

from backend.core.errors import DomainError
from backend.creators.models import Block, Follow, User
from backend.creators.selectors import blocked_user_ids
from backend.videos.models import Like, Video
from feeds import cursors, store
from feeds.cards import cards_build, feed_posts, page_json

logger = logging.getLogger(__name__)

FOR_YOU = store.FOR_YOU
FOLLOWING = store.FOLLOWING
CURSOR_MAX_AGE_S = 7 * 24 * 3600


class TeenDailyLimit(DomainError):
    status_code = 429
    default_code = "teen_daily_limit"
    default_detail = "That's enough scrolling for today. See you tomorrow!"


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


def _viewer_sets(viewer: User, taken: store.Taken) -> tuple[set[int], set[int]]:
    """Blocked users and liked videos from Redis; loaded from PostgreSQL when missing or, for
    blocks, older than the viewer's last block change (read with the viewer: no query)."""
    blocked, liked = taken.blocked, taken.liked
    blocks_version = f"{viewer.blocks_changed_at.timestamp():.6f}" if viewer.blocks_changed_at else "0"
    if blocked is None or taken.blocked_version != blocks_version:
        blocked = blocked_user_ids(viewer.id)
        store.viewer_set_fill(viewer.id, "blocked", blocked, version=blocks_version)
    if liked is None:
        ids = set(taken.video_ids)
        since = timezone.now() - timedelta(days=settings.FEED_CANDIDATE_WINDOW_DAYS * 2)
        recent = set(Like.objects.filter(user_id=viewer.id, created_at__gte=since).values_list("video_id", flat=True))
        store.viewer_set_fill(viewer.id, "liked", recent)
        liked = recent & ids | set(
            Like.objects.filter(user_id=viewer.id, video_id__in=ids - recent).values_list("video_id", flat=True)
        )
    return blocked, liked


def _hydrate(
    viewer: User,
    video_ids: list[int],
    *,
    kind: str,
    use_cache: bool = True,
    context: tuple[set[int], set[int]] | None = None,
) -> dict[int, bytes]:
    """Cards in JSON with ``liked`` for the viewer, in order, minus hidden videos, blocked authors,
    (for minors) unsafe ones and, outside the following feed, followers-only ones."""
    cached, hidden = store.cards_and_hidden(video_ids) if use_cache else ({}, set())
    missing = [video_id for video_id in video_ids if video_id not in cached and video_id not in hidden]
    fresh = cards_build(missing) if missing else {}
    if use_cache and fresh:
        store.cards_put(fresh.values())
    cards = cached | fresh
    blocked, liked = context if context is not None else _viewer_context(viewer.id, video_ids)
    return {
        video_id: card.for_viewer(liked=video_id in liked)
        for video_id in video_ids
        if (card := cards.get(video_id)) is not None
        and video_id not in hidden
        and not card.shows_anyone_of(blocked)
        and (card.safe_for_teens or not viewer.is_teen)
        and (card.public or kind == FOLLOWING)
    }


def _check_teen_limit(viewer: User) -> None:
    if viewer.is_teen and store.teen_cards_used(viewer.id) >= settings.FEED_TEEN_DAILY_CARDS:
        raise TeenDailyLimit(details={"daily_cards": settings.FEED_TEEN_DAILY_CARDS})


@dataclass(frozen=True)
class FeedPage:
    cards: list[bytes]  # each a card in JSON
    next: str | None

    def json(self) -> bytes:
        return page_json(self.cards, self.next)


def feed_page(*, viewer: User, kind: str, cursor: str | None = None) -> FeedPage:
    """One page of ``kind`` for ``viewer``: cards in JSON and the cursor of the next page."""
    position = cursors.decode(cursor, kind=kind, user_id=viewer.id, max_age_s=CURSOR_MAX_AGE_S) if cursor else None
    try:
        _check_teen_limit(viewer)
        if kind == FOR_YOU:
            page, next_position = _for_you(viewer, position)  # records what it served itself
        else:
            page, next_position = _following(viewer, position)
            store.mark_seen(viewer.id, list(page))
        if viewer.is_teen:
            store.teen_cards_today(viewer.id, len(page))
    except RedisError:
        logger.warning("feed for %s served from PostgreSQL: Redis failed", viewer.id, exc_info=True)
        page, next_position = _from_database(viewer, kind, position)
    next_cursor = cursors.encode(kind=kind, user_id=viewer.id, position=next_position) if next_position else None
    return FeedPage(cards=list(page.values()), next=next_cursor)


def _for_you(viewer: User, position) -> tuple[dict[int, bytes], object]:
    from feeds.services import feed_build
    from feeds.tasks import refill_feed

    if isinstance(position, dict) and position.get("db"):
        return _from_database(viewer, FOR_YOU, position)
    # No cursor: opening the app again continues where the viewer stopped.
    after = float(position) if position is not None else None
    page: dict[int, bytes] = {}
    taken, refill = None, False
    # Cards may drop out (hidden, or blocked since): take more until the page is full.
    for _ in range(3):
        taken = store.for_you_take(viewer.id, after=after, limit=settings.FEED_PAGE_SIZE - len(page))
        if taken is None:
            # A cold feed is built on the spot: the first page must not wait for a worker.
            if not feed_build(user=viewer):
                break
            taken = store.for_you_take(viewer.id, after=None, limit=settings.FEED_PAGE_SIZE - len(page))
            if taken is None:
                break
        after, refill = taken.position, refill or taken.refill_claimed
        page |= _hydrate(viewer, taken.video_ids, kind=FOR_YOU, context=_viewer_sets(viewer, taken))
        if len(page) >= settings.FEED_PAGE_SIZE or taken.remaining <= 0:
            break
    if refill:
        refill_feed.delay(user_id=viewer.id)
    if not page and not (taken and taken.remaining):
        return {}, None
    return page, after


def _following(viewer: User, position) -> tuple[dict[int, bytes], object]:
    if isinstance(position, dict) and position.get("db"):
        return _from_database(viewer, FOLLOWING, position)
    from feeds.services import following_feed_load

    before = float(position) if position is not None else float("inf")
    stored = store.following_page(viewer.id, before=before, limit=settings.FEED_PAGE_SIZE)
    if stored is None:  # expired, or never loaded: one query loads it again
        following_feed_load(user=viewer)
        stored = store.following_page(viewer.id, before=before, limit=settings.FEED_PAGE_SIZE) or []
    merged = dict(stored)
    # Large accounts are not fanned out: their recent posts are merged in here.
    big = Follow.objects.filter(
        follower_id=viewer.id, followee__follower_count__gt=settings.FEED_FANOUT_MAX_FOLLOWERS
    ).values("followee_id")
    published = feed_posts().filter(owner_id__in=big)
    if before != float("inf"):
        published = published.filter(published_at__lt=datetime.fromtimestamp(before, tz=UTC))
    for video_id, published_at in published.order_by("-published_at").values_list("id", "published_at")[
        : settings.FEED_PAGE_SIZE
    ]:
        merged[video_id] = published_at.timestamp()
    newest = sorted(merged.items(), key=lambda item: (-item[1], -item[0]))[: settings.FEED_PAGE_SIZE]
    if not newest:
        return {}, None
    return _hydrate(viewer, [video_id for video_id, _ in newest], kind=FOLLOWING), newest[-1][1]


def _from_database(viewer: User, kind: str, position) -> tuple[dict[int, bytes], object]:
    """The fallback: newest visible posts by keyset ``(published_at, id)``, from one indexed query."""
    videos = Video.objects.visible_to(viewer).shown_to_followers().exclude(owner_id=viewer.id)
    if kind == FOLLOWING:
        videos = videos.filter(owner_id__in=Follow.objects.filter(follower_id=viewer.id).values("followee_id"))
    else:
        videos = videos.filter(visibility=Video.Visibility.PUBLIC)
    if isinstance(position, dict) and position.get("db"):
        published_at = datetime.fromisoformat(position["t"])
        videos = videos.filter(Q(published_at__lt=published_at) | Q(published_at=published_at, id__lt=position["id"]))
    rows = list(videos.order_by("-published_at", "-id").values_list("id", "published_at")[: settings.FEED_PAGE_SIZE])
    if not rows:
        return {}, None
    page = _hydrate(viewer, [video_id for video_id, _ in rows], kind=kind, use_cache=False)
    last_id, last_published = rows[-1]
    return page, {"db": True, "t": last_published.isoformat(), "id": last_id}
