"""Search's writes: the hashtag counts search shows and discovery ranks by, and which posts are the newest."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from backend.videos.models import Video
from search.models import HashtagStats, VideoDocument

TRENDING_WINDOW_DAYS = 7
# A post's weight in its hashtags' trending score halves about every two days.
TRENDING_DECAY_DAYS = 3.0


@transaction.atomic
def hashtag_stats_refresh() -> int:
    """Count, set-based in one statement, the posts anyone may see (``Video.objects.shown_to_everyone``)
    under every hashtag: in all, of the last TRENDING_WINDOW_DAYS, and a trending score weighting each
    recent post by its likes and remixes and its age. Idempotent; returns how many hashtags were counted."""
    shown_posts = Video.objects.shown_to_everyone().values("id", "published_at", "like_count", "remix_count")
    shown, params = shown_posts.query.sql_with_params()
    table = HashtagStats._meta.db_table
    sql = f"""
        INSERT INTO {table} (hashtag_id, video_count, recent_count, trending_score, refreshed_at)
        SELECT tag.id,
               count(shown.id),
               count(shown.id) FILTER (WHERE shown.published_at >= now() - make_interval(days => %s)),
               coalesce(sum(
                   (1 + ln(1 + shown.like_count + 2 * shown.remix_count))
                   * exp(-extract(epoch FROM now() - shown.published_at) / 86400.0 / %s)
               ) FILTER (WHERE shown.published_at >= now() - make_interval(days => %s)), 0),
               now()
        FROM videos_hashtag tag
        LEFT JOIN videos_videohashtag link ON link.hashtag_id = tag.id
        LEFT JOIN ({shown}) shown ON shown.id = link.video_id
        GROUP BY tag.id
        ON CONFLICT (hashtag_id) DO UPDATE SET
            video_count = EXCLUDED.video_count,
            recent_count = EXCLUDED.recent_count,
            trending_score = EXCLUDED.trending_score,
            refreshed_at = EXCLUDED.refreshed_at
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [TRENDING_WINDOW_DAYS, TRENDING_DECAY_DAYS, TRENDING_WINDOW_DAYS, *params])
        return cursor.rowcount


@transaction.atomic
def recent_documents_refresh(*, recent: int | None = None, newer: int | None = None) -> int:
    """Keep ``VideoDocument.recent`` on the newest ``recent`` (SEARCH_RECENT_DOCUMENTS) listed posts by id and
    ``VideoDocument.newer`` on the newest ``newer`` (SEARCH_NEWER_DOCUMENTS), and each off the older ones (a document
    is written recent and newer). Idempotent; returns how many flags changed."""
    recent = settings.SEARCH_RECENT_DOCUMENTS if recent is None else recent
    newer = settings.SEARCH_NEWER_DOCUMENTS if newer is None else newer
    return _keep_on_newest("recent", recent) + _keep_on_newest("newer", newer)


def _keep_on_newest(flag: str, keep: int) -> int:
    table = VideoDocument._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT video_id FROM {table} WHERE listed ORDER BY video_id DESC OFFSET %s LIMIT 1", [keep])
        row = cursor.fetchone()
        if row is None:  # fewer than ``keep``: all of them
            cursor.execute(f"UPDATE {table} SET {flag} = true WHERE NOT {flag}")
            return cursor.rowcount
        # Each way by an index: the flagged ones now older (the flag's partial index of the newest), and older ones
        # among the newest again (after a larger setting). Drafts keep theirs: only listed posts are searched.
        cursor.execute(f"UPDATE {table} SET {flag} = false WHERE listed AND {flag} AND video_id <= %s", [row[0]])
        changed = cursor.rowcount
        cursor.execute(f"UPDATE {table} SET {flag} = true WHERE NOT {flag} AND video_id > %s", [row[0]])
        return changed + cursor.rowcount
