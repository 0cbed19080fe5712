"""Withdrawing consent at scale: a cameo in 10,000 published videos is revoked.

Data: one cameo (audience "everyone") owned by one user, appearing in 10,000
public posts by 500 creators: 1,000 originals, each with 9 remixes (a chain 9
deep, a narrow tree, or a bushy one), every remix carrying the cameo as the
render pipeline records it (an ``Appearance``), closure rows as
``lineage_insert`` writes them and ``embedded_sources`` as ``video_create_draft``
does (every ancestor). Beside them, 10,000 unrelated public posts by
the same creators in the same shapes (half of them with another person's
cameo), which must stay. Every post has its files in the public store (MP4,
poster, one thumbnail, HLS master playlist and one segment, under
``public_prefix``; local disk stores of the benchmark's own under
``var/bench/consent-media``), a cached card in Redis, and three viewers hold
stored for-you and following feeds mixing both kinds.

Measured, in one run: the owner narrows the cameo to "only me"
(``cameo_update``, which withdraws every creator but the owner at once); wall
time from that call until (a) no affected post is shown to everyone nor
visible to other users, (b) every affected card is a tombstone, (c) no affected
file is left in the public store, checked on disk, with every unrelated post
untouched; SQL queries during the revocation (``CaptureQueriesContext``, its
log lengthened past Django's 9,000) per affected video; the split between the
database marking (until the first receiver runs, i.e. the marking
committed), the file moves and the Redis tombstones, timed by wrapping the two
receivers' calls (files move in chunks, cards are tombstoned in one pipeline);
when each surface was clear; and, after it, every stored feed paged to its end.
The machine is shared: the load average at the revocation is recorded with the
figures.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import random
import re
import shutil
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from backend.cameos.models import Appearance, Cameo
from backend.cameos.services import cameo_update
from backend.core import storage
from backend.creators.models import User
from backend.videos.models import Video, VideoLineage
from feeds import store
from feeds.cards import cards_build
from feeds.services import feed_page_serve
from media import receivers as media_receivers
from media.postprocessing import public_prefix

AFFECTED = 10_000
UNRELATED = 10_000
TREE_SIZE = 10  # an original and 9 remixes: depth up to 9
CREATORS = 500
VIEWERS = 3
FEED_IDS = 1_000  # per viewer and feed (FEED_CAP), half of them affected
HANDLE = "consentbench_"
MEDIA_ROOT = Path(settings.VAR_DIR) / "bench" / "consent-media"
FILES = ("video.mp4", "poster.jpg", "thumbs/0.jpg", "hls/master.m3u8", "hls/0_000.ts")
PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n0_000.ts\n#EXT-X-ENDLIST\n"


def _stores() -> dict:
    """The benchmark's own local disk stores (what ``make bench`` runs on, without S3)."""
    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "private", "base_url": None},
        },
        "public": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT / "public", "base_url": f"{settings.MEDIA_URL}public/"},
        },
    }


# --- Data -----------------------------------------------------------------------


def _forest(first_id: int, count: int, rng: random.Random) -> dict[int, int | None]:
    """Parents of ids first_id.. in trees of TREE_SIZE: a chain, a narrow tree or a bushy one in turn."""
    parent: dict[int, int | None] = {}
    next_id = first_id
    for tree in range(count // TREE_SIZE):
        nodes = [next_id]
        parent[next_id] = None
        next_id += 1
        for _ in range(TREE_SIZE - 1):
            shape = tree % 3
            up = nodes[-1] if shape == 0 else rng.choice(nodes[-2:]) if shape == 1 else rng.choice(nodes)
            parent[next_id] = up
            nodes.append(next_id)
            next_id += 1
    return parent


def _users() -> tuple[User, list[User], list[User], User]:
    wanted = ["owner", "bystander", *(f"c{n}" for n in range(CREATORS)), *(f"v{n}" for n in range(VIEWERS))]
    existing = set(User.objects.filter(handle__startswith=HANDLE).values_list("handle", flat=True))
    User.objects.bulk_create(
        User(email=f"{HANDLE}{name}@example.com", handle=f"{HANDLE}{name}", display_name=name, password="!")
        for name in wanted
        if f"{HANDLE}{name}" not in existing
    )
    users = {user.handle.removeprefix(HANDLE): user for user in User.objects.filter(handle__startswith=HANDLE)}
    creators = [users[f"c{n}"] for n in range(CREATORS)]
    viewers = [users[f"v{n}"] for n in range(VIEWERS)]
    return users["owner"], creators, viewers, users["bystander"]


def _reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE videos_videolineage, videos_like, videos_comment, videos_videohashtag, "
                       "cameos_appearance, media_videofingerprint, media_renderjob_cameos, media_renderjob, "
                       "videos_video_embedded_sources, videos_video RESTART IDENTITY CASCADE")  # fmt: skip
    Cameo.objects.filter(owner__handle__startswith=HANDLE).delete()
    client = store.redis()
    for key in client.scan_iter(match=f"{settings.FEED_KEY_PREFIX}:*", count=10_000):
        client.delete(key)
    shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


def _write_files(prefix: str) -> None:
    folder = MEDIA_ROOT / "public" / prefix
    (folder / "thumbs").mkdir(parents=True)
    (folder / "hls").mkdir()
    for name in FILES:
        (folder / name).write_bytes(PLAYLIST if name.endswith(".m3u8") else os.urandom(512))


def _load(rng: random.Random) -> dict:
    """The dataset; returns the affected and unrelated ids, the viewers and what it built."""
    _reset()
    owner, creators, viewers, bystander = _users()
    star = Cameo.objects.create(owner=owner, kind=Cameo.Kind.PERSON, display_name="Star",
                                status=Cameo.Status.ACTIVE, audience=Cameo.Audience.EVERYONE)  # fmt: skip
    other = Cameo.objects.create(owner=bystander, kind=Cameo.Kind.PERSON, display_name="Other",
                                 status=Cameo.Status.ACTIVE, audience=Cameo.Audience.EVERYONE)  # fmt: skip
    affected_parents = _forest(1, AFFECTED, rng)
    unrelated_parents = _forest(AFFECTED + 1, UNRELATED, rng)
    parent = affected_parents | unrelated_parents
    now = timezone.now()
    videos, lineage_rows, depth, root, ancestors = [], [], {}, {}, {}
    for video_id in sorted(parent):
        up = parent[video_id]
        depth[video_id] = 0 if up is None else depth[up] + 1
        root[video_id] = video_id if up is None else root[up]
        ancestors[video_id] = [] if up is None else [up, *ancestors[up]]  # nearest first
        prefix = public_prefix(uuid.UUID(int=rng.getrandbits(128), version=4))
        _write_files(prefix)
        published = now - timedelta(seconds=rng.randrange(14 * 24 * 3600))
        videos.append(Video(
            id=video_id, owner_id=rng.choice(creators).id, prompt=f"consent bench {video_id}", caption="",
            status=Video.Status.PUBLISHED, visibility=Video.Visibility.PUBLIC, parent_id=up,
            root_id=None if up is None else root[video_id], depth=depth[video_id], duration_s=4, width=480,
            height=852, mp4=f"{prefix}/video.mp4", hls=f"{prefix}/hls/master.m3u8", poster=f"{prefix}/poster.jpg",
            thumbnails=[f"{prefix}/thumbs/0.jpg"], media_public=True, created_at=published, published_at=published,
        ))  # fmt: skip
        lineage_rows.append(VideoLineage(descendant_id=video_id, ancestor_id=video_id, depth=0))
        lineage_rows += [
            VideoLineage(descendant_id=video_id, ancestor_id=ancestor, depth=distance)
            for distance, ancestor in enumerate(ancestors[video_id], start=1)
        ]
    remixes = collections.Counter(up for up in parent.values() if up is not None)
    for video in videos:
        video.remix_count = remixes[video.id]
    Video.objects.bulk_create(videos, batch_size=2_000)
    VideoLineage.objects.bulk_create(lineage_rows, batch_size=5_000)
    # What ``video_create_draft`` records: a remix's frames come from its source and that source's own.
    through = Video.embedded_sources.through
    through.objects.bulk_create(
        (through(from_video_id=row.descendant_id, to_video_id=row.ancestor_id) for row in lineage_rows if row.depth),
        batch_size=5_000,
    )
    affected = sorted(affected_parents)
    unrelated = sorted(unrelated_parents)
    appearances = [Appearance(cameo=star, video_id=video_id) for video_id in affected]
    appearances += [Appearance(cameo=other, video_id=video_id) for video_id in unrelated if root[video_id] % 2]
    Appearance.objects.bulk_create(appearances, batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('videos_video', 'id'), %s)", [max(parent)])
        for table in ("creators_user", "cameos_cameo", "videos_video", "videos_videolineage", "cameos_appearance",
                      "videos_video_embedded_sources"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    everything = affected + unrelated
    for start in range(0, len(everything), 2_000):
        store.cards_put(cards_build(everything[start : start + 2_000]).values())
    published_at = {video.id: video.published_at.timestamp() for video in videos}
    unrelated_in_feeds: set[int] = set()
    for viewer in viewers:
        ids = rng.sample(affected, FEED_IDS // 2) + rng.sample(unrelated, FEED_IDS // 2)
        unrelated_in_feeds |= set(ids[FEED_IDS // 2 :])
        rng.shuffle(ids)
        store.for_you_append(viewer.id, ids)
        store.following_fill(viewer.id, [(video_id, published_at[video_id]) for video_id in ids])
    return {
        "owner": owner, "cameo": star, "creators": creators, "viewers": viewers,
        "affected": affected, "unrelated": unrelated, "max_depth": max(depth.values()),
        "closure_rows": len(lineage_rows), "appearances": len(appearances), "unrelated_in_feeds": unrelated_in_feeds,
        "embedded_source_rows": through.objects.count(),
    }  # fmt: skip


# --- Checks ---------------------------------------------------------------------


def _files_on_disk(video_ids: list[int]) -> dict[str, int]:
    """How many of these videos have a file in the public store, all files there, all in the private one."""
    public, private = MEDIA_ROOT / "public", MEDIA_ROOT / "private"
    counts = {"a_public_file": 0, "every_file_public": 0, "every_file_private": 0}
    for mp4 in Video.objects.filter(id__in=video_ids).values_list("mp4", flat=True).iterator(chunk_size=5_000):
        prefix = mp4.removesuffix("/video.mp4")
        in_public = [(public / prefix / name).exists() for name in FILES]
        counts["a_public_file"] += any(in_public)
        counts["every_file_public"] += all(in_public)
        counts["every_file_private"] += all((private / prefix / name).exists() for name in FILES)
    return counts


def _feeds_serve(viewers: list[User]) -> set[int]:
    """Every id each viewer's for-you and following feeds serve, paged to the end."""
    served: set[int] = set()
    for viewer in viewers:
        for kind in (store.FOR_YOU, store.FOLLOWING):
            cursor = None
            for _ in range(FEED_IDS):
                page = feed_page_serve(viewer=viewer, kind=kind, cursor=cursor)
                served |= {json.loads(card)["id"] for card in page.cards}
                if not page.next:
                    break
                cursor = page.next
    return served


def _surfaces(data: dict, others: list[User]) -> dict:
    """Where the affected and the unrelated posts stand now, surface by surface."""
    affected, unrelated = data["affected"], data["unrelated"]
    shown = Video.objects.shown_to_everyone()
    cards, hidden = store.cards_and_hidden(affected)
    unrelated_cards, unrelated_hidden = store.cards_and_hidden(unrelated)
    files, unrelated_files = _files_on_disk(affected), _files_on_disk(unrelated)
    return {
        "affected_shown_to_everyone": shown.filter(id__in=affected).count(),
        "affected_visible_to_others": max(
            Video.objects.visible_to(user).filter(id__in=affected).count() for user in others
        ),
        "affected_cards_tombstoned": len(hidden),
        "affected_cards_still_cached": len(cards),
        "affected_with_a_public_file": files["a_public_file"],
        "affected_with_every_file_private": files["every_file_private"],
        "affected_media_public_flag": Video.objects.filter(id__in=affected, media_public=True).count(),
        "unrelated_shown_to_everyone": shown.filter(id__in=unrelated).count(),
        "unrelated_visible_to_others": min(
            Video.objects.visible_to(user).filter(id__in=unrelated).count() for user in others
        ),
        "unrelated_cards_cached": len(unrelated_cards),
        "unrelated_cards_tombstoned": len(unrelated_hidden),
        "unrelated_with_every_file_public": unrelated_files["every_file_public"],
    }


def _all_out(state: dict, affected: int, unrelated: int) -> bool:
    return (
        state["affected_shown_to_everyone"] == 0
        and state["affected_visible_to_others"] == 0
        and state["affected_cards_tombstoned"] == affected
        and state["affected_with_a_public_file"] == 0
        and state["unrelated_shown_to_everyone"] == unrelated
        and state["unrelated_visible_to_others"] == unrelated
        and state["unrelated_cards_cached"] == unrelated
        and state["unrelated_with_every_file_public"] == unrelated
    )


# --- The revocation -------------------------------------------------------------


_NUMBERS = re.compile(r"\b\d+\b|'[^']*'")


def _shape(sql: str) -> str:
    """A query's statement with its literals and IN lists folded, to count queries by kind."""
    folded = re.sub(r"IN \([^)]*\)", "IN (...)", _NUMBERS.sub("?", sql))
    return folded if len(folded) <= 200 else f"{folded[:120]} ... {folded[-70:]}"


def _median_ms(calls: list[tuple[float, float, int]]) -> float | None:
    return round(statistics.median(end - start for start, end, _ in calls) * 1000, 2) if calls else None


def _p99_ms(calls: list[tuple[float, float, int]]) -> float | None:
    durations = sorted(end - start for start, end, _ in calls)
    return round(durations[int(len(durations) * 0.99) - 1] * 1000, 2) if durations else None


def _revoke(data: dict) -> dict:
    """The owner narrows the cameo to "only me"; every receiver call timed and its queries counted."""
    calls: dict[str, list[tuple[float, float, int]]] = {"files": [], "redis": []}
    sync, hide = media_receivers.video_files_sync_many, store.hide_videos

    def timed(kind, function):
        def call(*args, **kwargs):
            queries, started = len(connection.queries_log), time.perf_counter()
            function(*args, **kwargs)
            calls[kind].append((started, time.perf_counter(), len(connection.queries_log) - queries))

        return call

    # Django keeps the last 9,000 queries only: a longer log, or CaptureQueriesContext would count 9,000 at most.
    connection.queries_log = collections.deque(maxlen=1_000_000)
    with (
        mock.patch.object(media_receivers, "video_files_sync_many", timed("files", sync)),
        mock.patch.object(store, "hide_videos", timed("redis", hide)),
        CaptureQueriesContext(connection) as captured,
    ):
        started = time.perf_counter()
        cameo_update(cameo=data["cameo"], by=data["owner"], audience=Cameo.Audience.ONLY_ME)
        returned = time.perf_counter()
    files, redis_calls = calls["files"], calls["redis"]
    marked = min(start for start, _, _ in files + redis_calls) if files or redis_calls else returned
    file_seconds = sum(end - start for start, end, _ in files)
    redis_seconds = sum(end - start for start, end, _ in redis_calls)
    file_queries = sum(count for _, _, count in files)
    queries = captured.captured_queries  # read from the log: before it is shortened again
    connection.queries_log = collections.deque(maxlen=connection.queries_limit)
    by_shape = collections.Counter(_shape(query["sql"]) for query in queries)
    affected = len(data["affected"])
    tombstoned_after = sorted(end - marked for _, end, _ in redis_calls)
    last_file = max((end for _, end, _ in files), default=marked)
    last_card = max((end for _, end, _ in redis_calls), default=marked)
    return {
        "started": started,
        "seconds": returned - started,
        "queries": len(queries),
        "split": {
            "db_marking_until_commit_s": round(marked - started, 3),
            "file_moves_s": round(file_seconds, 3),
            "redis_tombstones_s": round(redis_seconds, 3),
            "other_s": round(returned - marked - file_seconds - redis_seconds, 3),
        },
        "queries_split": {
            "db_marking": len(queries) - file_queries,
            "file_moves": file_queries,
            "per_file_move_call": sorted({count for _, _, count in files}),
        },
        "receiver_calls": {
            "video_files_sync_many": len(files),
            "hide_videos": len(redis_calls),
            "videos_per_hide_videos_call": round(affected / max(1, len(redis_calls)), 2),
        },
        "clear_after": {
            "a_visibility_rule_at_marking_commit": round(marked - started, 2),
            "b_last_card_tombstoned": round(last_card - started, 2),
            "c_last_public_file_moved": round(last_file - started, 2),
        },
        "per_call_ms": {
            "video_files_sync_many_median": _median_ms(files),
            "video_files_sync_many_p99": _p99_ms(files),
            "hide_videos_median": _median_ms(redis_calls),
        },
        "card_tombstoned_after_commit_s": {
            "first": round(tombstoned_after[0], 3) if tombstoned_after else None,
            "median": round(statistics.median(tombstoned_after), 3) if tombstoned_after else None,
            "last": round(tombstoned_after[-1], 3) if tombstoned_after else None,
        },
        "top_queries": [{"count": count, "sql": shape} for shape, count in by_shape.most_common(6)],
    }


def run() -> dict:
    rng = random.Random(13)
    phases: dict[str, float] = {}
    with override_settings(STORAGES=_stores()), _quiet("media.video_files"):
        assert storage.public().location == str(MEDIA_ROOT / "public")
        with _timed(phases, "load"):
            data = _load(rng)
        affected, unrelated = len(data["affected"]), len(data["unrelated"])
        others = [*data["viewers"], *rng.sample(data["creators"], 3)]
        with _timed(phases, "check_before"):
            before = _surfaces(data, others)
        assert before["affected_shown_to_everyone"] == affected, before
        assert before["affected_with_a_public_file"] == affected and before["affected_cards_still_cached"] == affected
        assert before["unrelated_with_every_file_public"] == unrelated, before
        load_average = os.getloadavg()[0]
        with _timed(phases, "revocation"):
            revocation = _revoke(data)
        # The receivers run in the revoking call; should any have left work to a worker, wait for it (60 s).
        with _timed(phases, "check_after"):
            after = _surfaces(data, others)
        all_out = revocation["seconds"] if _all_out(after, affected, unrelated) else None
        while all_out is None and time.perf_counter() - revocation["started"] < 60:
            time.sleep(1)
            after = _surfaces(data, others)
            if _all_out(after, affected, unrelated):
                all_out = time.perf_counter() - revocation["started"]
        with _timed(phases, "feeds_paged"):
            served = _feeds_serve(data["viewers"])
    in_feeds = data["unrelated_in_feeds"]
    return {
        "dataset": {
            "affected_videos": affected,
            "originals_with_the_cameo": affected // TREE_SIZE,
            "max_remix_depth": data["max_depth"],
            "creators": len({*Video.objects.filter(id__in=data["affected"]).values_list("owner_id", flat=True)}),
            "unrelated_videos": unrelated,
            "closure_rows": data["closure_rows"],
            "embedded_source_rows": data["embedded_source_rows"],
            "appearances": data["appearances"],
            "public_files": (affected + unrelated) * len(FILES),
            "cards_cached": affected + unrelated,
            "viewers_with_stored_feeds": len(data["viewers"]),
            "ids_per_stored_feed": FEED_IDS,
        },
        "revocation": "cameo_update(audience=only_me) by the owner; consent_withdrawn on commit, receivers in process",
        "all_out_seconds": None if all_out is None else round(all_out, 2),
        "revoking_call_seconds": round(revocation["seconds"], 2),
        "surface_clear_after_s": revocation["clear_after"],
        "queries": revocation["queries"],
        "queries_per_affected_video": round(revocation["queries"] / affected, 2),
        "time_split_s": revocation["split"],
        "queries_split": revocation["queries_split"],
        "per_call_ms": revocation["per_call_ms"],
        "receiver_calls": revocation["receiver_calls"],
        "card_tombstoned_after_commit_s": revocation["card_tombstoned_after_commit_s"],
        "top_queries": revocation["top_queries"],
        "after": after,
        "feeds_paged_to_the_end_after": {
            "affected_served": len(served & set(data["affected"])),
            "unrelated_served": len(served & in_feeds),
            "unrelated_stored": len(in_feeds),
        },
        "load_average_at_revocation": round(load_average, 2),
        "phase_seconds": {name: round(seconds, 1) for name, seconds in phases.items()},
        "target": "every affected video out of every surface within seconds; a handful of queries per affected video",
    }


@contextlib.contextmanager
def _timed(phases: dict[str, float], name: str):
    started = time.perf_counter()
    yield
    phases[name] = time.perf_counter() - started


@contextlib.contextmanager
def _quiet(logger_name: str):
    """One INFO line per moved video would bury the results (the lines cost microseconds against the move)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=2))
