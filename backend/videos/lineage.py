"""Remix lineage as a closure table.

Every video has one row per ancestor *and itself* in ``VideoLineage``
(ancestor, descendant, depth between them), plus ``parent``, ``root`` and
``depth`` on the video itself. Each question is one indexed query, whatever
the depth or the size of the tree:

(a) ancestors to the root: rows with ``descendant = v`` ordered by depth
    (index ``lineage_descendant_depth``);
(b) direct remixes: videos with ``parent = v`` (index ``video_parent_recent``);
(c) the whole subtree, breadth first, paginated by the keyset
    ``(depth, descendant)`` (index ``lineage_ancestor_depth_descendant``:
    a page is a range scan, never a sort of the subtree);
(d) the number of descendants: an index-only count of that same range;
(e) the depth: a column.

Why not the others: a materialised path in a text or ``ltree`` column makes
(a) a parse and (c) a prefix scan, but at depths in the hundreds the path of a
deep node outgrows what a B-tree entry may hold (about 2.7 kB), and ``ltree``
GiST indexes degrade with long paths; a recursive CTE answers everything with
no extra table but walks the tree row by row, so (a) costs O(depth) and (c)/(d)
O(subtree) on every call. The closure table costs O(depth) rows per new remix,
written once in one INSERT … SELECT, and reads never walk.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from backend.videos.models import Video, VideoLineage


def lineage_insert(*, video: Video) -> None:
    """Record a new video's ancestry (caller's transaction; the video is saved)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {VideoLineage._meta.db_table} (ancestor_id, descendant_id, depth)
            SELECT %s, %s, 0
            UNION ALL
            SELECT ancestor_id, %s, depth + 1 FROM {VideoLineage._meta.db_table} WHERE descendant_id = %s
            """,
            [video.id, video.id, video.id, video.parent_id],
        )


def ancestors(*, video: Video) -> QuerySet[Video]:
    """From the root down to the parent: one query."""
    return (
        Video.objects.filter(lineage_as_ancestor__descendant_id=video.id, lineage_as_ancestor__depth__gt=0)
        .select_related("owner")
        .order_by("-lineage_as_ancestor__depth")
    )


def direct_remixes(*, video: Video) -> QuerySet[Video]:
    return Video.objects.filter(parent_id=video.id).select_related("owner")


def subtree_page(
    *, video: Video, after: tuple[int, int] | None, limit: int, among: QuerySet[Video] | None = None
) -> list[VideoLineage]:
    """Descendants breadth first after the keyset ``(depth, id)``: one query.

    Each row carries ``depth`` (relative to ``video``) and ``descendant`` with its owner.
    ``among`` keeps only those descendants (what a viewer may list).
    """
    rows = _descendant_rows(video, among)
    if after is not None:
        table = VideoLineage._meta.db_table
        # A row comparison, so the page is a range scan of the index.
        keyset = RawSQL(f"({table}.depth, {table}.descendant_id) > (%s, %s)", after, output_field=BooleanField())
        rows = rows.filter(keyset)
    return list(rows.order_by("depth", "descendant_id").select_related("descendant__owner")[:limit])


def descendant_count(*, video: Video, among: QuerySet[Video] | None = None) -> int:
    return _descendant_rows(video, among).count()


def descendant_ids(*, video_ids: list[int]) -> list[int]:
    """Every video below these in their lineages (not themselves)."""
    rows = VideoLineage.objects.filter(ancestor_id__in=video_ids, depth__gt=0)
    return list(rows.values_list("descendant_id", flat=True).distinct())


def _descendant_rows(video: Video, among: QuerySet[Video] | None) -> QuerySet[VideoLineage]:
    rows = VideoLineage.objects.filter(ancestor_id=video.id, depth__gt=0)
    return rows if among is None else rows.filter(descendant__in=among)
