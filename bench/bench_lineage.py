"""Lineage at scale: (a) ancestors, (b) direct remixes, (c) subtree page, (d) descendant count, (e) depth.

A generated forest of 100,000 videos holds one chain 300 deep, one video with
10,000 direct remixes, and 1,000 random trees. Each question is asked through
``backend.videos.lineage`` (the code the API runs) on the hardest nodes and on
random ones; we record median and p99 wall time, the number of SQL queries per
call, and PostgreSQL's own execution time from EXPLAIN ANALYZE.
"""

from __future__ import annotations

import io
import random
import statistics
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.creators.models import User
from backend.videos import lineage, selectors
from backend.videos.models import Video, VideoLineage

TOTAL = 100_000
CHAIN = 300
STAR = 10_000
TREES = 1_000
RUNS = 200
NULL = "\\N"
NOW = "2026-11-01T00:00:00+00:00"


def _generate() -> dict:
    """Parents for ids 1..TOTAL: the chain, the star, then random trees. Returns the interesting ids."""
    rng = random.Random(42)
    parent: dict[int, int | None] = {}
    next_id = 1
    chain = []
    for _ in range(CHAIN + 1):
        parent[next_id] = chain[-1] if chain else None
        chain.append(next_id)
        next_id += 1
    star_root = next_id
    parent[star_root] = None
    next_id += 1
    for _ in range(STAR):
        parent[next_id] = star_root
        next_id += 1
    trees: list[list[int]] = []
    for _ in range(TREES):
        parent[next_id] = None
        trees.append([next_id])
        next_id += 1
    while next_id <= TOTAL:
        tree = rng.choice(trees)
        parent[next_id] = rng.choice(tree[-50:])  # recent nodes: trees grow deep as well as wide
        tree.append(next_id)
        next_id += 1
    return {"parent": parent, "chain_leaf": chain[-1], "chain_root": chain[0], "star_root": star_root,
            "random": rng.sample(range(1, TOTAL + 1), RUNS)}  # fmt: skip


def _load(parent: dict[int, int | None]) -> None:
    owners = list(User.objects.filter(handle__startswith="bench_").values_list("id", flat=True))
    if not owners:
        owners = [User.objects.create_user(f"bench_{i}@example.com", "x", handle=f"bench_{i}").id for i in range(100)]
    depth: dict[int, int] = {}
    root: dict[int, int] = {}
    ancestors: dict[int, list[int]] = {}
    video_rows = io.StringIO()
    lineage_rows = io.StringIO()
    for video_id in sorted(parent):
        up = parent[video_id]
        depth[video_id] = 0 if up is None else depth[up] + 1
        root[video_id] = video_id if up is None else root[up]
        chain = [] if up is None else [*ancestors[up], up]
        # Keep the chains of the chain only while needed (memory): every id needs its own list here.
        ancestors[video_id] = chain
        parent_cell = NULL if up is None else up
        root_cell = NULL if up is None else root[video_id]
        video_rows.write(
            f"{video_id}\t{owners[video_id % len(owners)]}\tbench {video_id}\tf\t\tpublished\tpublic\tt\tt\t"
            f"{parent_cell}\t{root_cell}\t{depth[video_id]}\t4\t480\t852\t\t\t\t[]\t0\t0\t0\t0\t0\t0\t0\t0\t"
            f"{NOW}\t{NOW}\t\t\tf\tt\n"
        )
        lineage_rows.write(f"{video_id}\t{video_id}\t0\n")
        for distance, ancestor in enumerate(reversed(chain), start=1):
            lineage_rows.write(f"{video_id}\t{ancestor}\t{distance}\n")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {VideoLineage._meta.db_table}, {Video._meta.db_table} RESTART IDENTITY CASCADE")
        columns = (
            "id, owner_id, prompt, prompt_hidden, caption, status, visibility, remix_allowed, safe_for_teens, "
            "parent_id, root_id, depth, duration_s, width, height, mp4, hls, poster, thumbnails, like_count, "
            "comment_count, remix_count, view_count, impression_count, completion_count, skip_count, watch_seconds, "
            "created_at, published_at, removed_reason, withdrawn_reason, removed_by_owner, media_public"
        )
        with cursor.copy(f"COPY {Video._meta.db_table} ({columns}) FROM STDIN") as copy:
            copy.write(video_rows.getvalue())
        with cursor.copy(f"COPY {VideoLineage._meta.db_table} (descendant_id, ancestor_id, depth) FROM STDIN") as copy:
            copy.write(lineage_rows.getvalue())
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Video._meta.db_table}', 'id'), {TOTAL})")
        cursor.execute(f"ANALYZE {Video._meta.db_table}")
        cursor.execute(f"ANALYZE {VideoLineage._meta.db_table}")


def _measure(call, videos: list[Video]) -> dict:
    timings, queries = [], []
    for video in videos:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call(video)
            timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
    timings.sort()
    return {
        "median_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
        "queries_per_call": sorted(set(queries)),
    }


def _db_execution_ms(queryset_sql: str, params) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {queryset_sql}", params)
        return round(cursor.fetchone()[0][0]["Execution Time"], 3)


def run() -> dict:
    if Video.objects.count() != TOTAL or not Video.objects.filter(depth=CHAIN).exists():
        data = _generate()
        started = time.perf_counter()
        _load(data["parent"])
        load_seconds = round(time.perf_counter() - started, 1)
    else:
        data = _generate()
        load_seconds = None
    Video.objects.update(status="published")
    through = Video.embedded_sources.through
    if not through.objects.exists():  # every remix embeds its ancestors' frames (as the migration records)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {through._meta.db_table} (from_video_id, to_video_id) "
                f"SELECT descendant_id, ancestor_id FROM {VideoLineage._meta.db_table} WHERE depth > 0"
            )
            cursor.execute(f"ANALYZE {through._meta.db_table}")
    viewer = User.objects.filter(handle="lineage-viewer").first() or User.objects.create_user(
        email="lineage-viewer@example.com", password=None, handle="lineage-viewer"
    )
    chain_leaf = Video.objects.get(id=data["chain_leaf"])
    chain_root = Video.objects.get(id=data["chain_root"])
    star_root = Video.objects.get(id=data["star_root"])
    sample = list(Video.objects.filter(id__in=data["random"]))
    deepest = [chain_leaf] * RUNS
    star = [star_root] * RUNS

    def page_through(video):
        rows = lineage.subtree_page(video=video, after=None, limit=20)
        if rows:
            lineage.subtree_page(video=video, after=(rows[-1].depth, rows[-1].descendant_id), limit=20)

    def deep_page(video):
        # a page far into the star's 10,000 children
        lineage.subtree_page(video=video, after=(1, video.id + 9_000), limit=20)

    questions = {
        "a_ancestors": (lambda v: list(lineage.ancestors(video=v)), {"depth_300_leaf": deepest, "random": sample}),
        "b_direct_remixes_page": (lambda v: list(lineage.direct_remixes(video=v).order_by("id")[:20]),
                                  {"10k_children_root": star, "random": sample}),
        "c_subtree_two_pages": (page_through, {"chain_root": [chain_root] * RUNS, "10k_children_root": star,
                                               "random": sample}),
        "c_subtree_page_deep_in": (deep_page, {"10k_children_root": star}),
        "d_descendant_count": (lambda v: lineage.descendant_count(video=v),
                               {"chain_root": [chain_root] * RUNS, "10k_children_root": star, "random": sample}),
        "e_depth": (lambda v: Video.objects.only("depth").get(id=v.id).depth, {"depth_300_leaf": deepest}),
    }  # fmt: skip
    # What the endpoints answer: the same questions through the viewer's visibility rule (selectors).
    for who, person in (("anonymous", None), ("signed_in", viewer)):
        questions |= {
            f"f_{who}_ancestors": (lambda v, p=person: selectors.lineage_ancestors(viewer=p, video=v),
                                   {"depth_300_leaf": deepest, "random": sample}),
            f"f_{who}_subtree_page": (lambda v, p=person: selectors.lineage_subtree_page(viewer=p, video=v,
                                      after=None, limit=20), {"10k_children_root": star, "random": sample}),
            f"f_{who}_descendant_count": (lambda v, p=person: selectors.lineage_descendant_count(viewer=p, video=v),
                                          {"10k_children_root": star, "random": sample}),
        }  # fmt: skip
    results = {name: {label: _measure(call, nodes) for label, nodes in cases.items()}
               for name, (call, cases) in questions.items()}  # fmt: skip
    ancestors_sql, ancestors_params = lineage.ancestors(video=chain_leaf).query.sql_with_params()
    count_qs = VideoLineage.objects.filter(ancestor_id=star_root.id, depth__gt=0)
    count_sql, count_params = count_qs.values("pk").query.sql_with_params()
    page_qs = VideoLineage.objects.filter(ancestor_id=star_root.id, depth__gt=0).order_by("depth", "descendant_id")[:20]
    page_sql, page_params = page_qs.values("descendant_id").query.sql_with_params()
    return {
        "forest": {
            "videos": TOTAL,
            "closure_rows": VideoLineage.objects.count(),
            "chain_depth": chain_leaf.depth,
            "largest_fan_out": Video.objects.filter(parent_id=star_root.id).count(),
            "load_seconds": load_seconds,
        },
        "calls": results,
        "postgres_execution_ms": {
            "a_ancestors_of_depth_300": _db_execution_ms(ancestors_sql, ancestors_params),
            "c_first_page_of_10k_subtree": _db_execution_ms(page_sql, page_params),
            "d_count_rows_of_10k_subtree": _db_execution_ms(f"SELECT count(*) FROM ({count_sql}) s", count_params),
        },
        "target": "each answer in a few ms of database time; queries per call constant whatever depth or size "
        "(1; 2 through a signed-in viewer's rule, whose blocks are read first)",
    }
