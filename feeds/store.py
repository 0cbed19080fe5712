"""The Redis side of feeds: per-user stored feeds, cached cards, hidden videos.

Key names carry a hash tag per user (``{u42}``) so that one user's keys live on
one Redis Cluster slot. Every call here may raise ``redis.RedisError``; the
selectors catch it and fall back to PostgreSQL, so the feed never errors
because of the cache.

- ``feed:{u42}:for_you`` is a sorted set of video ids scored by *position*:
  refills append with increasing positions and never reorder what is there,
  so a cursor (the last position served) stays valid while new cards arrive.
- ``feed:{u42}:following`` is scored by publish time (fan-out on publish).
- ``card:<video id>`` is the JSON a player needs, shared by every viewer.
- ``hidden`` holds removed or consent-withdrawn videos, checked on every page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.conf import settings
from django_redis import get_redis_connection

FOR_YOU = "for_you"
FOLLOWING = "following"


def redis():
    return get_redis_connection("default")


def _key(*parts: str) -> str:
    return ":".join((settings.FEED_KEY_PREFIX, *parts))


def feed_key(user_id: int, kind: str) -> str:
    return _key("feed", f"{{u{user_id}}}", kind)


def _sequence_key(user_id: int) -> str:
    return _key("feed", f"{{u{user_id}}}", "for_you_seq")


def seen_key(user_id: int) -> str:
    return _key("feed", f"{{u{user_id}}}", "seen")


def card_key(video_id: int) -> str:
    return _key("card", str(video_id))


def hidden_key() -> str:
    return _key("hidden")


# --- For you ------------------------------------------------------------------


def for_you_append(user_id: int, video_ids: Sequence[int]) -> int:
    """Append ranked ids behind what the user has; returns how many were new."""
    if not video_ids:
        return 0
    key = feed_key(user_id, FOR_YOU)
    client = redis()
    present = client.zmscore(key, list(video_ids))
    fresh = [video_id for video_id, score in zip(video_ids, present, strict=True) if score is None]
    if not fresh:
        return 0
    last = client.incrby(_sequence_key(user_id), len(fresh))
    first = last - len(fresh) + 1
    pipe = client.pipeline()
    pipe.zadd(key, {str(video_id): first + index for index, video_id in enumerate(fresh)})
    # Capped: the oldest positions (long since served) fall off.
    pipe.zremrangebyrank(key, 0, -settings.FEED_CAP - 1)
    pipe.expire(key, settings.FEED_TTL_S)
    pipe.expire(_sequence_key(user_id), settings.FEED_TTL_S)
    pipe.execute()
    return len(fresh)


def for_you_window(user_id: int, *, after: float, limit: int) -> dict:
    """Everything one page needs from Redis, in two round trips.

    The next ``limit * 2`` stored ids after ``after`` with their positions, how
    many remain after ``after``, and for those ids: which are hidden, which the
    viewer has seen, and their cached cards.
    """
    key = feed_key(user_id, FOR_YOU)
    client = redis()
    pipe = client.pipeline(transaction=False)
    pipe.zrangebyscore(key, f"({after}", "+inf", start=0, num=limit * 2, withscores=True)
    pipe.zcount(key, f"({after}", "+inf")
    rows, remaining = pipe.execute()
    ids = [int(member) for member, _ in rows]
    if not ids:
        return {"rows": [], "remaining": remaining, "hidden": set(), "seen": set(), "cards": {}, "blocked": set(),
                "liked": set()}  # fmt: skip
    members = [str(video_id) for video_id in ids]
    pipe = client.pipeline(transaction=False)
    pipe.smismember(hidden_key(), members)
    pipe.smismember(seen_key(user_id), members)
    pipe.mget([card_key(video_id) for video_id in ids])
    pipe.smembers(viewer_set_key(user_id, "blocked"))
    pipe.smismember(viewer_set_key(user_id, "liked"), [_SENTINEL, *members])
    hidden, seen, cards, blocked, liked = pipe.execute()
    return {
        "rows": [(video_id, position) for video_id, (_, position) in zip(ids, rows, strict=True)],
        "remaining": remaining,
        "hidden": {video_id for video_id, flag in zip(ids, hidden, strict=True) if flag},
        "seen": {video_id for video_id, flag in zip(ids, seen, strict=True) if flag},
        "cards": {video_id: json.loads(card) for video_id, card in zip(ids, cards, strict=True) if card},
        # None: not loaded in Redis yet.
        "blocked": {int(m) for m in blocked if m not in (_SENTINEL, _SENTINEL.encode())} if blocked else None,
        "liked": {video_id for video_id, flag in zip(ids, liked[1:], strict=True) if flag} if liked[0] else None,
    }


# Who a viewer blocked or was blocked by, and what they liked: kept in Redis so a
# page needs no SQL beyond authentication. A set holds a sentinel member so an
# empty set still exists; a missing set is loaded from PostgreSQL.
_SENTINEL = "-"


def viewer_set_key(user_id: int, name: str) -> str:
    return _key("feed", f"{{u{user_id}}}", name)


def viewer_set_fill(user_id: int, name: str, members: Iterable[int]) -> None:
    key = viewer_set_key(user_id, name)
    pipe = redis().pipeline()
    pipe.delete(key)
    pipe.sadd(key, _SENTINEL, *(str(member) for member in members))
    pipe.expire(key, settings.FEED_VIEWER_SET_TTL_S)
    pipe.execute()


def viewer_set_change(user_id: int, name: str, member: int, *, present: bool) -> None:
    """Keep a loaded set in step; an unloaded one is left to be loaded fresh."""
    key = viewer_set_key(user_id, name)
    script = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call(ARGV[1], KEYS[1], ARGV[2]) end return 0"
    redis().eval(script, 1, key, "SADD" if present else "SREM", str(member))


def viewer_set_drop(user_id: int, name: str) -> None:
    redis().delete(viewer_set_key(user_id, name))


def refill_claim(user_id: int, seconds: int = 30) -> bool:
    """True for the first page that asks for a refill in ``seconds``: one queued refill, not one per page."""
    return bool(redis().set(_key("feed", f"{{u{user_id}}}", "refilling"), 1, nx=True, ex=seconds))


def for_you_state(user_id: int) -> tuple[bool, float]:
    """Whether the viewer has a stored feed, and where they stopped reading it."""
    pipe = redis().pipeline(transaction=False)
    pipe.exists(feed_key(user_id, FOR_YOU))
    pipe.get(_key("feed", f"{{u{user_id}}}", "head"))
    exists, head = pipe.execute()
    return bool(exists), float(head or 0)


def for_you_served(user_id: int, *, head: float | None, video_ids: list[int]) -> None:
    """Move the read head and remember what was shown, in one round trip."""
    pipe = redis().pipeline(transaction=False)
    if head is not None:
        pipe.set(_key("feed", f"{{u{user_id}}}", "head"), head, ex=settings.FEED_TTL_S)
    if video_ids:
        pipe.sadd(seen_key(user_id), *(str(video_id) for video_id in video_ids))
        pipe.expire(seen_key(user_id), settings.FEED_SEEN_TTL_S)
    pipe.execute()


def for_you_ids(user_id: int) -> set[int]:
    return {int(member) for member in redis().zrange(feed_key(user_id, FOR_YOU), 0, -1)}


# --- Following ----------------------------------------------------------------


def following_push(follower_ids: Iterable[int], video_id: int, published_ts: float) -> None:
    """Fan-out on publish: the video goes into each follower's following feed."""
    pipe = redis().pipeline(transaction=False)
    for follower_id in follower_ids:
        key = feed_key(follower_id, FOLLOWING)
        pipe.zadd(key, {str(video_id): published_ts})
        pipe.zremrangebyrank(key, 0, -settings.FEED_CAP - 1)
        pipe.expire(key, settings.FEED_TTL_S)
    pipe.execute()


def following_page(user_id: int, *, before: float, limit: int) -> list[tuple[int, float]]:
    """(id, publish time) newest first, strictly older than ``before``."""
    client = redis()
    rows = client.zrevrangebyscore(
        feed_key(user_id, FOLLOWING), f"({before}", "-inf", start=0, num=limit * 2, withscores=True
    )
    hidden = set(_hidden_among(client, [int(member) for member, _ in rows]))
    return [(int(member), score) for member, score in rows if int(member) not in hidden][:limit]


# --- Seen, cards, hidden ------------------------------------------------------


def mark_seen(user_id: int, video_ids: Iterable[int]) -> None:
    video_ids = [str(video_id) for video_id in video_ids]
    if not video_ids:
        return
    pipe = redis().pipeline()
    pipe.sadd(seen_key(user_id), *video_ids)
    pipe.expire(seen_key(user_id), settings.FEED_SEEN_TTL_S)
    pipe.execute()


def seen_among(user_id: int, video_ids: Sequence[int]) -> set[int]:
    if not video_ids:
        return set()
    flags = redis().smismember(seen_key(user_id), [str(video_id) for video_id in video_ids])
    return {video_id for video_id, flag in zip(video_ids, flags, strict=True) if flag}


def cards_get(video_ids: Sequence[int]) -> dict[int, dict]:
    if not video_ids:
        return {}
    raw = redis().mget([card_key(video_id) for video_id in video_ids])
    return {video_id: json.loads(value) for video_id, value in zip(video_ids, raw, strict=True) if value}


def cards_put(cards: dict[int, dict]) -> None:
    if not cards:
        return
    pipe = redis().pipeline(transaction=False)
    for video_id, card in cards.items():
        pipe.set(card_key(video_id), json.dumps(card, default=str), ex=settings.FEED_CARD_TTL_S)
    pipe.execute()


def hide_videos(video_ids: Iterable[int]) -> None:
    """Removed or consent-withdrawn: gone from every feed and card cache at once."""
    video_ids = [str(video_id) for video_id in video_ids]
    if not video_ids:
        return
    pipe = redis().pipeline()
    pipe.sadd(hidden_key(), *video_ids)
    pipe.delete(*(card_key(int(video_id)) for video_id in video_ids))
    pipe.execute()


def unhide_videos(video_ids: Iterable[int]) -> None:
    video_ids = [str(video_id) for video_id in video_ids]
    if video_ids:
        redis().srem(hidden_key(), *video_ids)


def _hidden_among(client, video_ids: Sequence[int]) -> list[int]:
    if not video_ids:
        return []
    flags = client.smismember(hidden_key(), [str(video_id) for video_id in video_ids])
    return [video_id for video_id, flag in zip(video_ids, flags, strict=True) if flag]


# --- Trending and event counters ----------------------------------------------


def trending_key() -> str:
    return _key("trending")


def trending_set(scores: dict[int, float]) -> None:
    pipe = redis().pipeline()
    pipe.delete(trending_key())
    if scores:
        pipe.zadd(trending_key(), {str(video_id): score for video_id, score in scores.items()})
    pipe.execute()


def trending_ids(limit: int) -> list[int]:
    return [int(member) for member in redis().zrevrange(trending_key(), 0, limit - 1)]


def counters_key() -> str:
    return _key("counters")


def event_seen_before(event_id: str) -> bool:
    """Record an event id; True when it was already recorded (a replayed batch)."""
    return not redis().set(_key("event", event_id), 1, nx=True, ex=settings.FEED_EVENT_ID_TTL_S)


def counters_add(increments: dict[str, int]) -> None:
    if not increments:
        return
    pipe = redis().pipeline()
    for field, amount in increments.items():
        pipe.hincrby(counters_key(), field, amount)
    pipe.execute()


def counters_take(batch_id: str) -> str | None:
    """Move the live counters aside under a batch name (atomic); None when there are none."""
    target = _key("counters", "batch", batch_id)
    try:
        redis().rename(counters_key(), target)
    except Exception as error:  # redis raises ResponseError "no such key"
        if "no such key" in str(error).lower():
            return None
        raise
    return target


def counter_batches() -> list[str]:
    return [
        key.decode() if isinstance(key, bytes) else key
        for key in redis().scan_iter(match=_key("counters", "batch", "*"))
    ]


def counters_read(key: str) -> dict[str, int]:
    return {
        (field.decode() if isinstance(field, bytes) else field): int(value)
        for field, value in redis().hgetall(key).items()
    }


def counters_drop(key: str) -> None:
    redis().delete(key)


def teen_cards_today(user_id: int, served: int) -> int:
    """Count cards served to a minor today; returns the new total."""
    from django.utils import timezone

    key = _key("teen", f"{{u{user_id}}}", timezone.localdate().isoformat())
    pipe = redis().pipeline()
    pipe.incrby(key, served)
    pipe.expire(key, 2 * 24 * 3600)
    return pipe.execute()[0]


def teen_cards_used(user_id: int) -> int:
    from django.utils import timezone

    value = redis().get(_key("teen", f"{{u{user_id}}}", timezone.localdate().isoformat()))
    return int(value or 0)
