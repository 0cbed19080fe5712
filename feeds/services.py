"""Feed writes: serve a page, build a viewer's feed, fan out posts, take events, flush counters.

The build is a plain pipeline: sources → merge → filter → score → diversify → store.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from redis import RedisError

from backend.core import metrics
from backend.core.errors import DomainError
from backend.core.i18n import supported
from backend.creators.models import Follow, User
from backend.videos.models import Like, Video
from feeds import cold_start, cursors, ranking, selectors, sources, steering, store, tasks
from feeds.cards import cards_build, feed_posts, page_json
from feeds.models import CounterFlush, FeedPreference, RedisRepair

EVENT_TYPES = ("impression", "watch", "complete", "skip")
MAX_EVENTS_PER_BATCH = 100

logger = logging.getLogger(__name__)


def _weights() -> ranking.Weights:
    return ranking.Weights(**settings.FEED_RANKING)


def steering_for(user_id: int) -> ranking.Steering:
    preference = FeedPreference.objects.filter(user_id=user_id).first()
    if preference is None:
        return ranking.Steering()
    return ranking.Steering.from_words(
        more=preference.more_topics, less=preference.less_topics, language=preference.language or "en"
    )


def _candidates(user: User) -> list[ranking.Candidate]:
    by_source: dict[int, set[str]] = defaultdict(set)
    for name, source in sources.SOURCES.items():
        for video_id in source(user.id):
            by_source[video_id].add(name)
    already = store.for_you_ids(user.id) | store.seen_among(user.id, list(by_source))
    wanted = [video_id for video_id in by_source if video_id not in already]
    # What this viewer may see (blocks, teen safety) of what anyone may: the one rule, not a copy.
    videos = Video.objects.visible_to(user).shown_to_everyone().filter(id__in=wanted).exclude(owner_id=user.id)
    return sources.candidates(videos, by_source)


def _affinity(user_id: int, author_ids: set[int]) -> dict[int, float]:
    """1 for followed authors, plus up to 1 more for authors whose videos the viewer liked."""
    followed = set(
        Follow.objects.filter(follower_id=user_id, followee_id__in=author_ids).values_list("followee_id", flat=True)
    )
    likes = dict(
        Like.objects.filter(user_id=user_id, video__owner_id__in=author_ids)
        .values("video__owner_id")
        .annotate(n=Count("video_id"))
        .values_list("video__owner_id", "n")
    )
    return {author: (author in followed) + min(1.0, likes.get(author, 0) / 5) for author in author_ids}


def feed_build(*, user: User) -> int:
    """Rank fresh candidates and append them behind what the viewer has; returns how many."""
    candidates = _candidates(user)
    if not candidates:
        return 0
    ordered = ranking.diversify(
        ranking.rank(
            candidates,
            now=timezone.now(),
            weights=_weights(),
            affinity=_affinity(user.id, {c.author_id for c in candidates}),
            steering=steering_for(user.id),
        ),
        weights=_weights(),
    )
    # Cards are cached ahead by the refill that the first page claims, off the request path.
    return store.for_you_append(user.id, [candidate.video_id for candidate in ordered])


def feed_cards_warm(*, user_id: int) -> int:
    """Cache the cards of the viewer's next pages, so serving them costs no SQL; returns how many were built.

    The read head is at the start of the page the viewer is on (it moves when they ask for the next one),
    so the next pages begin a page after it."""
    video_ids, last_position = store.for_you_ahead(user_id, limit=settings.FEED_PAGE_SIZE + settings.FEED_WARM_CARDS)
    cached = store.cards_get(video_ids)
    built = cards_build([video_id for video_id in video_ids if video_id not in cached])
    store.cards_put(built.values())
    if last_position is not None:
        store.cards_warm_until_set(user_id, last_position)
    return len(built)


def feed_refill(*, user: User) -> None:
    """Keep a viewer's feed ahead of them: rank more when few ids are left, and cache the next cards."""
    # Counted from the read head, which is a page behind the ids the viewer has been served.
    running_low = store.for_you_remaining(user.id) < settings.FEED_REFILL_BELOW + settings.FEED_PAGE_SIZE
    built = feed_build(user=user) if running_low else 0
    # After a shared first page, the viewer's blocks and likes are not in Redis yet.
    cold_start.viewer_sets_load(user)
    if feed_cards_warm(user_id=user.id) or built:
        # The next page that finds the feed low may queue another at once; with nothing new,
        # the claim's expiry spaces out the retries.
        store.refill_release(user.id)


def video_fanout(*, video_id: int) -> int:
    """Put a new post in its author's followers' following feeds (small accounts only)."""
    video = Video.objects.filter(id=video_id, status=Video.Status.PUBLISHED).select_related("owner").first()
    if video is None or video.visibility == Video.Visibility.PRIVATE:
        return 0
    if video.owner.follower_count > settings.FEED_FANOUT_MAX_FOLLOWERS:
        return 0  # merged in at read time (selectors.following_page)
    followers = list(Follow.objects.filter(followee_id=video.owner_id).values_list("follower_id", flat=True))
    store.following_push(followers, video.id, video.published_at.timestamp())
    return len(followers)


def following_feed_load(*, user: User) -> None:
    """Load a viewer's following feed from PostgreSQL: the newest posts of the accounts they follow.

    Large accounts are left out, as fan-out leaves them out: they are merged in at read time.
    """
    followees = Follow.objects.filter(
        follower_id=user.id, followee__follower_count__lte=settings.FEED_FANOUT_MAX_FOLLOWERS
    ).values("followee_id")
    posts = feed_posts().filter(owner_id__in=followees).order_by("-published_at")
    newest = posts.values_list("id", "published_at")[: settings.FEED_CAP]
    store.following_fill(user.id, [(video_id, published_at.timestamp()) for video_id, published_at in newest])


def following_author_drop(*, follower_id: int, author_id: int) -> None:
    """An author no longer followed leaves the follower's following feed."""
    recent = Video.objects.filter(owner_id=author_id).order_by("-published_at").values_list("id", flat=True)
    store.following_remove(follower_id, list(recent[: settings.FEED_CAP]))


# --- Events -------------------------------------------------------------------


class EventsUnavailable(DomainError):
    status_code = 503
    default_code = "events_unavailable"
    default_detail = _("Events cannot be recorded right now; send the same batch again later.")
    wait = 30  # seconds, sent as Retry-After


# --- Serving a page ------------------------------------------------------------

CURSOR_MAX_AGE_S = 7 * 24 * 3600


class TeenDailyLimit(DomainError):
    status_code = 429
    default_code = "teen_daily_limit"
    default_detail = _("That's enough scrolling for today. See you tomorrow!")


def _check_teen_limit(viewer: User) -> None:
    if viewer.is_teen and store.teen_cards_used(viewer.id) >= settings.FEED_TEEN_DAILY_CARDS:
        tomorrow = datetime.combine(
            timezone.localdate() + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
        )
        raise TeenDailyLimit(
            details={"daily_cards": settings.FEED_TEEN_DAILY_CARDS},
            retry_after_s=int((tomorrow - timezone.now()).total_seconds()) + 1,
        )


@dataclass(frozen=True)
class FeedPage:
    cards: list[bytes]  # each a card in JSON
    next: str | None

    def json(self) -> bytes:
        return page_json(self.cards, self.next)


def feed_page_serve(*, viewer: User, kind: str, cursor: str | None = None) -> FeedPage:
    """Serve one page of ``kind`` to ``viewer``: cards in JSON and the cursor of the next page.

    Safe to retry: the same cursor (or none, with nothing read since) serves the same page; a
    cursor marks the pages before it seen and moves the viewer's read head to it
    (``feeds.store._TAKE_SCRIPT``). It also counts a minor's cards, may build a cold
    feed and queues a refill. A warm for-you page costs two Redis round trips and no
    SQL: one script over the viewer's keys (move the head to the cursor, take the next
    unseen ids, read the viewer's likes and blocks) and one MGET of the shared cards
    (a removed video's is a tombstone).
    When Redis fails, the same page comes from one indexed PostgreSQL query, so the
    feed never errors because of the cache.
    """
    position = cursors.decode(cursor, kind=kind, user_id=viewer.id, max_age_s=CURSOR_MAX_AGE_S) if cursor else None
    # A cursor of a fallback page continues from PostgreSQL.
    source = "postgres" if isinstance(position, dict) and position.get("db") else "redis"
    try:
        _check_teen_limit(viewer)
        if kind == store.FOR_YOU:
            page, next_position = _for_you(viewer, position)  # records what it served itself
        else:
            page, next_position = _following(viewer, position)
            store.mark_seen(viewer.id, list(page))
        if viewer.is_teen:
            store.teen_cards_add(viewer.id, list(page))
    except RedisError:
        logger.warning("feed for %s served from PostgreSQL: Redis failed", viewer.id, exc_info=True)
        page, next_position = selectors.feed_page_from_database(viewer, kind, position)
        source = "postgres"
    metrics.FEED_PAGES.labels(kind=kind, source=source).inc()
    next_cursor = cursors.encode(kind=kind, user_id=viewer.id, position=next_position) if next_position else None
    return FeedPage(cards=list(page.values()), next=next_cursor)


def _for_you(viewer: User, position) -> tuple[dict[int, bytes], object]:
    if isinstance(position, dict) and position.get("db"):
        return selectors.feed_page_from_database(viewer, store.FOR_YOU, position)
    # Only a page asked for without a cursor may be shared: the next one is personal (feeds/cold_start.py).
    may_share = position is None and settings.FEED_SHARED_FIRST_PAGE
    if isinstance(position, dict) and "sh" in position:
        # The viewer passed a shared page: its ids are seen, and the personal feed starts at its head.
        store.mark_seen(viewer.id, [int(video_id) for video_id in position["sh"]])
        position = None
    # No cursor: opening the app again continues where the viewer stopped.
    after = float(position) if position is not None else None
    page: dict[int, bytes] = {}
    taken, refill = None, False
    # Cards may drop out (hidden, or blocked since): take more until the page is full.
    # Only the cursor the viewer sent moves the read head, not the positions this page reaches.
    move_head = after is not None
    for _attempt in range(3):
        limit = settings.FEED_PAGE_SIZE - len(page)
        taken = store.for_you_take(viewer.id, after=after, limit=limit, move_head=move_head)
        move_head = False
        if taken is None:
            if may_share and not page:
                shared, served = cold_start.shared_first_page(viewer)
                if shared:
                    # The personal feed is built on a worker meanwhile, once per claim.
                    if cold_start.personal_build_claim(viewer.id):
                        tasks.feed_refill.delay(user_id=viewer.id)
                    return shared, {"sh": served}
            # A cold feed is built on the spot: the first page must not wait for a worker. Taken again
            # even when this build added nothing: a worker's build (queued by a shared first page) may
            # have stored the feed since the take above.
            feed_build(user=viewer)
            taken = store.for_you_take(viewer.id, after=None, limit=settings.FEED_PAGE_SIZE - len(page))
            if taken is None:
                break
        after, refill = taken.position, refill or taken.refill_claimed
        page |= selectors.cards_hydrate(
            viewer, taken.video_ids, kind=store.FOR_YOU, context=selectors.viewer_sets(viewer, taken)
        )
        if len(page) >= settings.FEED_PAGE_SIZE or taken.remaining <= 0:
            break
    if refill:
        tasks.feed_refill.delay(user_id=viewer.id)
    if not page and not (taken and taken.remaining):
        return {}, None
    return page, after


def _following(viewer: User, position) -> tuple[dict[int, bytes], object]:
    if isinstance(position, dict) and position.get("db"):
        return selectors.feed_page_from_database(viewer, store.FOLLOWING, position)
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
    return selectors.cards_hydrate(viewer, [video_id for video_id, _ in newest], kind=store.FOLLOWING), newest[-1][1]


def _videos_countable_by(user: User, video_ids: set[int]) -> dict[int, float]:
    """Of these ids, the videos whose events count, with their durations: those the viewer may see now.

    An event on a video the viewer can no longer see (removed, made private, blocked
    since it was watched) is a fair report of the past, so the batch stands, but it
    moves no counter; an id that is no video at all is answered the same way, so the
    answer never tells a hidden video from none.
    """
    return dict(Video.objects.visible_to(user).filter(id__in=video_ids).values_list("id", "duration_s"))


def _counts(event: dict) -> str:
    """What an event counts, once per viewer, video and day: ``"<video id>:<type>"``."""
    return f"{event['video_id']}:{event['type']}"


def _increments(events: list[dict], durations: dict[int, float]) -> tuple[dict[str, int], list[int]]:
    """Counter increments of these events, and the videos they mark seen.

    Watch time rides with the view it belongs to and is capped at the video's duration:
    a client cannot claim an hour of a four-second video.
    """
    increments: dict[str, int] = defaultdict(int)
    seen: list[int] = []
    for event in events:
        video_id, kind = event["video_id"], event["type"]
        if kind == "impression":
            increments[f"{video_id}:impressions"] += 1
            seen.append(video_id)
        elif kind == "watch":
            watch_ms = min(event.get("watch_ms", 0), int(durations.get(video_id, 0) * 1000))
            increments[f"{video_id}:watch_seconds"] += watch_ms // 1000
            increments[f"{video_id}:views"] += 1
        elif kind == "complete":
            increments[f"{video_id}:completions"] += 1
        elif kind == "skip":
            increments[f"{video_id}:skips"] += 1
    return increments, seen


def events_record(*, user: User, events: list[dict]) -> dict[str, int]:
    """Take a batch of impressions, watch time, completions and skips.

    Each event id is taken once, and each kind of event counts once per viewer, video
    and day (UTC): a view, an impression, a completion or a skip sent again under a fresh
    id is a duplicate. Both are decided atomically in Redis, so concurrent batches of
    one viewer count a video once.

    Nothing is stored for a refused batch. Should Redis fail half-way, the ids just
    claimed (and what they counted) are released, so the client sending the batch again
    loses nothing.
    """
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise DomainError(
            _("Send at most %(count)d events per batch.") % {"count": MAX_EVENTS_PER_BATCH}, code="batch_too_large"
        )
    durations = _videos_countable_by(user, {event["video_id"] for event in events})
    pairs = [(event["id"], _counts(event) if event["video_id"] in durations else "") for event in events]
    try:
        claimed = store.events_claim(user.id, pairs)
    except RedisError as error:
        raise EventsUnavailable() from error
    fresh = [event for event, flag in zip(events, claimed, strict=True) if flag != store.DUPLICATE]
    counted = [event for event, flag in zip(events, claimed, strict=True) if flag == store.COUNTS]
    try:
        store.events_apply(user.id, *_increments(counted, durations))
    except RedisError as error:
        with contextlib.suppress(RedisError):
            store.events_unclaim(user.id, [event["id"] for event in fresh], [_counts(event) for event in counted])
        raise EventsUnavailable() from error
    ignored = sum(1 for event in fresh if event["video_id"] not in durations)
    return {"accepted": len(counted), "duplicates": len(events) - len(counted) - ignored, "ignored": ignored}


_COUNTER_FIELDS = {
    "impressions": "impression_count",
    "completions": "completion_count",
    "skips": "skip_count",
    "watch_seconds": "watch_seconds",
    "views": "view_count",
}


def counters_flush() -> int:
    """Apply event counters to PostgreSQL without losing or doubling an increment.

    The live hash is renamed to a batch (atomic: later increments start a new
    hash); the batch is applied in one transaction that also records its id;
    only then is it deleted. A crash before the commit leaves the batch for
    the next flush; a crash after it finds the id recorded and just deletes.
    """
    applied = 0
    store.counters_take(uuid.uuid4().hex)
    for batch_id in store.counter_batches():
        if not CounterFlush.objects.filter(batch_id=batch_id).exists():
            # A concurrent flush may have applied this batch first (IntegrityError on its id).
            with contextlib.suppress(IntegrityError):
                applied += _apply_batch(batch_id, store.counters_read(batch_id))
        store.counters_drop(batch_id)
    return applied


@transaction.atomic
def _apply_batch(batch_id: str, counters: dict[str, int]) -> int:
    """One UPDATE for every video of the batch, whatever their number."""
    columns = list(_COUNTER_FIELDS.values())
    per_video: dict[int, dict[str, int]] = defaultdict(dict)
    for field, amount in counters.items():
        video_id, metric = field.split(":", 1)
        if metric in _COUNTER_FIELDS:
            per_video[int(video_id)][_COUNTER_FIELDS[metric]] = amount
    video_ids = sorted(per_video)
    if video_ids:
        arrays = [video_ids] + [[per_video[video_id].get(column, 0) for video_id in video_ids] for column in columns]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {Video._meta.db_table} AS video
                   SET {", ".join(f"{column} = video.{column} + batch.{column}" for column in columns)}
                  FROM unnest({", ".join(["%s::bigint[]"] * len(arrays))}) AS batch(id, {", ".join(columns)})
                 WHERE video.id = batch.id
                """,
                arrays,
            )
    CounterFlush.objects.create(batch_id=batch_id, videos=len(per_video))
    return len(per_video)


def shared_candidates_refresh() -> int:
    """The shared first-page lists of the configured locales (feeds/cold_start.py)."""
    return cold_start.shared_candidates_refresh()


def trending_recompute() -> int:
    """Engagement velocity with time decay over the last days, for the trending source."""
    scores = sources.trending_scores()
    store.trending_set(scores)
    return len(scores)


# --- Steering -----------------------------------------------------------------


def parse_preferences(text: str) -> tuple[list[str], list[str]]:
    """ "more cooking, no horror; less sports" → (["cooking"], ["horror", "sports"]), in any of our languages."""
    return steering.parse(text)


@transaction.atomic
def preferences_set(*, user: User, text: str, language: str = "") -> FeedPreference:
    """``language``: the one the viewer wrote in (the request's), else their profile's: its words are stemmed in it."""
    more, less = parse_preferences(text)
    defaults = {"text": text, "more_topics": more, "less_topics": less, "updated_at": timezone.now(),
                "language": supported(language or user.language)}  # fmt: skip
    preference, _created = FeedPreference.objects.update_or_create(user=user, defaults=defaults)
    return preference


def preferences_delete(*, user_id: int) -> int:
    """A purge: the viewer's steering, in their own words, goes. How many rows (0 or 1). Idempotent."""
    return FeedPreference.objects.filter(user_id=user_id).delete()[0]


# --- Repairs after a Redis outage ---------------------------------------------------


def redis_repairs_record(*, kind: str, target_ids: list[int]) -> None:
    """Remember what a failed Redis write left wrong (a receiver calls this when Redis is away)."""
    RedisRepair.objects.bulk_create(
        [RedisRepair(kind=kind, target_id=target_id) for target_id in target_ids], ignore_conflicts=True
    )


_REPAIRS = {
    RedisRepair.Kind.LIKED: lambda ids: store.viewer_sets_forget(ids, "liked"),
    RedisRepair.Kind.HIDDEN: store.hide_videos,
    RedisRepair.Kind.CARD: store.cards_drop,
    RedisRepair.Kind.FOLLOWING: lambda ids: [store.following_forget(user_id) for user_id in ids],
}


def redis_restart_repair() -> int:
    """After Redis restarted or failed over, drop what it keeps as a copy of PostgreSQL.

    A restart loses the writes its persistence had not yet saved, and nothing recorded them (each
    succeeded when made); the run id Redis reports changes with every restart, so comparing it with
    the one last seen tells. Dropped first, acknowledged after: a crash in between drops again.
    """
    run_id = store.restarted_since_checked()
    if run_id is None:
        return 0
    dropped = store.copies_of_postgres_drop()
    store.restart_acknowledge(run_id)
    logger.warning("redis restarted (run id %s): dropped %s keys copied from PostgreSQL", run_id, dropped)
    return dropped


def redis_repairs_apply(*, batch: int = 1000) -> int:
    """Put right what Redis missed, oldest first; a row goes only once its repair went through.

    Beat runs it every few seconds; while Redis is still away the first failure stops it.
    """
    repaired = 0
    try:
        redis_restart_repair()
    except RedisError:
        logger.warning("redis repairs: Redis still unavailable")
        return repaired
    if not RedisRepair.objects.exists():
        return repaired
    for kind, repair in _REPAIRS.items():
        while True:
            rows = list(RedisRepair.objects.filter(kind=kind).order_by("id").values_list("id", "target_id")[:batch])
            if not rows:
                break
            try:
                repair([target_id for _, target_id in rows])
            except RedisError:
                logger.warning("redis repairs: Redis still unavailable; %s waiting", kind)
                return repaired
            RedisRepair.objects.filter(id__in=[row_id for row_id, _ in rows]).delete()
            repaired += len(rows)
    return repaired
