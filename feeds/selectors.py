"""Reading the feed: cards hydrated for a viewer, and the page PostgreSQL serves when Redis fails.

Serving a page (which records what was served) is ``feeds.services.feed_page_serve``.
A card not cached costs one SQL query for the videos plus one for their cameos,
whatever their count; cards are served as the JSON they were cached as.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from backend.creators.models import Block, Follow, User
from backend.creators.selectors import blocked_user_ids
from backend.videos.models import Like, Video
from feeds import store
from feeds.cards import cards_build
from feeds.models import FeedPreference

FOR_YOU = store.FOR_YOU
FOLLOWING = store.FOLLOWING


def viewer_context(viewer_id: int, video_ids: list[int]) -> tuple[set[int], set[int], bool]:
    """Who is blocked either way, which of these videos the viewer liked, and whether they steer their
    feed ("more …, no …"): one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT 'b', CASE WHEN blocker_id = %s THEN blocked_id ELSE blocker_id END
              FROM {Block._meta.db_table} WHERE blocker_id = %s OR blocked_id = %s
            UNION ALL
            SELECT 'l', video_id FROM {Like._meta.db_table} WHERE user_id = %s AND video_id = ANY(%s)
            UNION ALL
            SELECT 's', user_id FROM {FeedPreference._meta.db_table}
             WHERE user_id = %s AND (more_topics <> '[]'::jsonb OR less_topics <> '[]'::jsonb)
            """,
            [viewer_id, viewer_id, viewer_id, viewer_id, list(video_ids), viewer_id],
        )
        rows = cursor.fetchall()
    return (
        {value for kind, value in rows if kind == "b"},
        {value for kind, value in rows if kind == "l"},
        any(kind == "s" for kind, _value in rows),
    )


def viewer_sets(viewer: User, taken: store.Taken) -> tuple[set[int], set[int]]:
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


def cards_hydrate(
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
    blocked, liked = context if context is not None else viewer_context(viewer.id, video_ids)[:2]
    return {
        video_id: card.for_viewer(liked=video_id in liked)
        for video_id in video_ids
        if (card := cards.get(video_id)) is not None
        and video_id not in hidden
        and not card.shows_anyone_of(blocked)
        and (card.safe_for_teens or not viewer.is_teen)
        and (card.public or kind == FOLLOWING)
    }


def feed_page_from_database(viewer: User, kind: str, position) -> tuple[dict[int, bytes], object]:
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
    page = cards_hydrate(viewer, [video_id for video_id, _ in rows], kind=kind, use_cache=False)
    last_id, last_published = rows[-1]
    return page, {"db": True, "t": last_published.isoformat(), "id": last_id}
