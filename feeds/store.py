"""The Redis side of feeds: per-user stored feeds, cached cards, hidden videos.

Key names carry a hash tag per user (``{u42}``) so that one user's keys live on
one Redis Cluster slot: on a cluster (``FEED_REDIS_URL=redis+cluster://...``) every
script and transaction here keeps to one slot, event counters are sharded by video
(``{counters:<n>}``), and the card MGET is split by slot (one pipeline per node).
Every call here may raise ``redis.RedisError``; the
selectors catch it and fall back to PostgreSQL, so the feed never errors
because of the cache.

- ``feed:{u42}:for_you`` is a sorted set of video ids scored by *position*:
  refills append with increasing positions and never reorder what is there,
  so a cursor (the last position served) stays valid while new cards arrive.
- ``feed:{u42}:following`` is scored by publish time: loaded from PostgreSQL when
  missing (and after a new follow), then kept by fan-out on publish.
- ``card:<video id>`` is the JSON a player needs, shared by every viewer; a
  removed or consent-withdrawn video's card is replaced by a tombstone, so one
  MGET tells a page both what to show and what to drop. Cards are written only
  where no tombstone (or card) is, so a card built from a read made just before
  the removal cannot bring the video back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from django_redis import get_redis_connection
from redis.cluster import RedisCluster

from backend.core import redis_clients
from feeds.cards import Card

FOR_YOU = "for_you"
FOLLOWING = "following"

_clients: dict[str, object] = {}


def redis():
    """The feed store's client: ``FEED_REDIS_URL`` (one server, or a Redis Cluster), else the cache's Redis.

    Clients are kept per URL, so a changed setting (a test taking Redis away) takes effect at once. A
    cluster client is made on first use: a cluster that cannot be reached raises ``RedisError`` there,
    where every caller already expects it.
    """
    url = settings.FEED_REDIS_URL
    if not url:
        return get_redis_connection("default")
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis_clients.client_from_url(url)
    return client


def _is_cluster(client) -> bool:
    return isinstance(client, RedisCluster)


# A member no video id can be: the viewer's structure was loaded from PostgreSQL.
_LOADED = "-"


def _key(*parts: str) -> str:
    return ":".join((settings.FEED_KEY_PREFIX, *parts))


def user_key(user_id: int, name: str) -> str:
    """A key of one viewer: the hash tag keeps all of them on one cluster slot."""
    return _key("feed", f"{{u{user_id}}}", name)


def feed_key(user_id: int, kind: str) -> str:
    return user_key(user_id, kind)


def _sequence_key(user_id: int) -> str:
    return user_key(user_id, "for_you_seq")


# What a viewer has seen is kept in one set per day, over the candidate window only: a video published
# before the window is never a candidate again, so what was seen before it needs no memory. A day of
# ids stays a small intset (4 bytes an id, where one set growing for months took 62), and every day
# drops out on its own (EXPIREAT), however often the viewer comes back.
_DAY_S = 86400


def _seen_days() -> int:
    # A video seen on day D was published on D - window at the earliest: it is a candidate until D + window.
    return settings.FEED_CANDIDATE_WINDOW_DAYS + 1


def _today(now: float | None = None) -> int:
    return int((timezone.now().timestamp() if now is None else now) // _DAY_S)


def seen_keys(user_id: int, *, now: float | None = None) -> list[str]:
    """Today's seen set first, then one per day back over the candidate window."""
    today = _today(now)
    return [user_key(user_id, f"seen:{today - back}") for back in range(_seen_days())]


def _seen_expires_at() -> int:
    """When today's seen set may go: the end of the last day its videos can be candidates."""
    return (_today() + _seen_days()) * _DAY_S


def card_key(video_id: int) -> str:
    # The version changes with the stored form of a card (``Card.dumps``): cards of an
    # older form are simply rebuilt, and PostgreSQL keeps hiding what was removed.
    return _key("card", "v3", str(video_id))


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
    pipe = client.pipeline(transaction=True)
    # NX: an id that a concurrent build appended since ``zmscore`` keeps the place it was given; moved
    # behind the read head it would be served twice (a page built on the spot beside the worker's build).
    pipe.zadd(key, {str(video_id): first + index for index, video_id in enumerate(fresh)}, nx=True)
    # Capped: the oldest positions (long since served) fall off.
    pipe.zremrangebyrank(key, 0, -settings.FEED_CAP - 1)
    pipe.expire(key, settings.FEED_TTL_S)
    pipe.expire(_sequence_key(user_id), settings.FEED_TTL_S)
    pipe.execute()
    return len(fresh)


# One page of a stored feed in one round trip. Every key is the viewer's ({uN}), so
# the script runs on one Redis Cluster slot. From ``after`` (or the viewer's read
# head) it takes up to ``limit`` ids not seen yet; the caller drops hidden and
# blocked ones afterwards.
#
# Safe to retry: taking a page changes nothing, so a phone that asks again for a
# page whose response it lost (same cursor, or no cursor) gets the same page. The
# viewer has passed a page only once they ask for the next one: a cursor beyond the
# read head (``move_head``) marks every id before it seen and moves the head there,
# and using that cursor again finds nothing left to move. A page is thus re-read by
# position, not cached: no response is stored, and an id hidden meanwhile still
# drops out of the retried page. (An impression event marks an id seen at once, so a
# viewer who reopens the app without scrolling on is not shown what they watched.)
_TAKE_SCRIPT = """
-- KEYS[7] is today's seen set, KEYS[8..] those of the days before it over the candidate window.
local feed, head, liked, blocked, refilling, warm_until, seen = unpack(KEYS, 1, 7)
local after, limit = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', feed) == 0 then
  redis.call('DEL', head)  -- positions of a feed built anew start again
  return false
end
local current = redis.call('GET', head) or '0'
if after == '' then
  after = current
elseif ARGV[9] == '1' and tonumber(after) > tonumber(current) then
  local passed = redis.call('ZRANGEBYSCORE', feed, '(' .. current, after)
  if #passed > 0 then
    redis.call('SADD', seen, unpack(passed))
    redis.call('EXPIREAT', seen, ARGV[4])
  end
  redis.call('SET', head, after, 'EX', ARGV[3])
  current = after
end
local rows = redis.call('ZRANGEBYSCORE', feed, '(' .. after, '+inf', 'LIMIT', 0, limit * 2)
local ids, last = {}, after
if #rows > 0 then
  local seen_flags = redis.call('SMISMEMBER', seen, unpack(rows))
  for k = 8, #KEYS do
    local earlier = redis.call('SMISMEMBER', KEYS[k], unpack(rows))
    for i = 1, #rows do
      if earlier[i] == 1 then seen_flags[i] = 1 end
    end
  end
  local looked = #rows
  for i, member in ipairs(rows) do
    if #ids == limit then looked = i - 1 break end
    if seen_flags[i] == 0 then ids[#ids + 1] = member end
  end
  last = redis.call('ZSCORE', feed, rows[looked])
end
local remaining = redis.call('ZCOUNT', feed, '(' .. last, '+inf')
-- Low on ids, or on cached cards ahead of the viewer: one refill at a time keeps both ahead.
local cards_ahead = tonumber(redis.call('GET', warm_until) or '0') - tonumber(last)
local refill = 0
if (remaining < tonumber(ARGV[5]) or cards_ahead < math.min(tonumber(ARGV[8]), remaining))
    and redis.call('SET', refilling, 1, 'NX', 'EX', ARGV[6]) then
  refill = 1
end
-- The viewer's sets hold the loaded marker: without it, the set is not loaded yet.
local liked_flags = redis.call('SMISMEMBER', liked, ARGV[7], unpack(ids))
return {last, remaining, refill, ids, liked_flags, redis.call('SMEMBERS', blocked)}
"""
_take_script = None


@dataclass(frozen=True)
class Taken:
    """What ``for_you_take`` took: ids in feed order, and what serving them needs."""

    video_ids: list[int]
    position: float  # of the last id looked at: the next page starts after it
    remaining: int
    refill_claimed: bool
    liked: set[int] | None  # None: the viewer's set is not in Redis yet
    blocked: set[int] | None
    blocked_version: str | None  # what the blocked set was loaded with


def for_you_take(user_id: int, *, after: float | None, limit: int, move_head: bool = False) -> Taken | None:
    """The next ``limit`` unseen ids after ``after`` (None: the read head); None when there is no stored feed.

    ``move_head``: ``after`` is a cursor the viewer asked for, so everything before it was served and passed.
    """
    global _take_script
    client = redis()
    if _take_script is None:
        _take_script = client.register_script(_TAKE_SCRIPT)
    names = (FOR_YOU, "head", "liked", "blocked", "refilling", "warm_until")
    seen = seen_keys(user_id)
    reply = _take_script(
        keys=[user_key(user_id, name) for name in names] + seen,
        args=["" if after is None else repr(after), limit, settings.FEED_TTL_S, _seen_expires_at(),
              settings.FEED_REFILL_BELOW, settings.FEED_REFILL_CLAIM_S, _LOADED, settings.FEED_WARM_CARDS // 3,
              "1" if move_head else "0"],
        client=client,
    )  # fmt: skip
    if reply is None:
        return None
    position, remaining, refill, ids, liked_flags, blocked = reply
    video_ids = [int(member) for member in ids]
    markers = [member for member in blocked if member.startswith(_LOADED.encode())]
    return Taken(
        video_ids=video_ids,
        position=float(position),
        remaining=remaining,
        refill_claimed=bool(refill),
        liked={v for v, flag in zip(video_ids, liked_flags[1:], strict=True) if flag} if liked_flags[0] else None,
        blocked={int(member) for member in blocked if member not in markers} if markers else None,
        blocked_version=markers[0][len(_LOADED) :].decode() if markers else None,
    )


# Who a viewer blocked or was blocked by, and what they liked: kept in Redis so a
# page needs no SQL beyond authentication. A set holds the loaded marker (followed by the
# version the set was loaded at), so an empty set still exists; a missing set is loaded
# from PostgreSQL.


def viewer_set_fill(user_id: int, name: str, members: Iterable[int], *, version: str = "") -> None:
    key = user_key(user_id, name)
    pipe = redis().pipeline(transaction=True)
    pipe.delete(key)
    pipe.sadd(key, _LOADED + version, *(str(member) for member in members))
    pipe.expire(key, settings.FEED_VIEWER_SET_TTL_S)
    pipe.execute()


def viewer_sets_forget(user_ids: Iterable[int], name: str) -> None:
    """Drop these viewers' sets: each is loaded fresh from PostgreSQL on its next read."""
    keys = [user_key(user_id, name) for user_id in user_ids]
    if keys:
        redis().delete(*keys)


def viewer_set_change(user_id: int, name: str, member: int, *, present: bool) -> None:
    """Keep a loaded set in step; an unloaded one is left to be loaded fresh."""
    key = user_key(user_id, name)
    script = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call(ARGV[1], KEYS[1], ARGV[2]) end return 0"
    redis().eval(script, 1, key, "SADD" if present else "SREM", str(member))


def for_you_ahead(user_id: int, *, limit: int) -> tuple[list[int], float | None]:
    """The next ``limit`` ids after the viewer's read head, and the position of the last one."""
    client = redis()
    head = client.get(user_key(user_id, "head")) or b"0"
    rows = client.zrangebyscore(feed_key(user_id, FOR_YOU), b"(" + head, "+inf", start=0, num=limit, withscores=True)
    return [int(member) for member, _ in rows], rows[-1][1] if rows else None


def for_you_remaining(user_id: int) -> int:
    client = redis()
    head = client.get(user_key(user_id, "head")) or b"0"
    return client.zcount(feed_key(user_id, FOR_YOU), b"(" + head, "+inf")


def refill_release(user_id: int) -> None:
    redis().delete(user_key(user_id, "refilling"))


def cards_warm_until_set(user_id: int, position: float) -> None:
    """Cards are cached up to ``position``, for as long as cards live."""
    redis().set(user_key(user_id, "warm_until"), position, ex=settings.FEED_CARD_TTL_S)


def for_you_ids(user_id: int) -> set[int]:
    return {int(member) for member in redis().zrange(feed_key(user_id, FOR_YOU), 0, -1)}


# --- Following ----------------------------------------------------------------

# A following feed loaded from PostgreSQL holds the loaded marker (scored 0, older than
# any post); one without it holds only what fan-out pushed since it expired, and is
# loaded again.


def following_fill(user_id: int, posts: Iterable[tuple[int, float]]) -> None:
    """Load a viewer's following feed with (video id, publish time) pairs, newest kept."""
    key = feed_key(user_id, FOLLOWING)
    pipe = redis().pipeline(transaction=True)
    pipe.zadd(key, {_LOADED: 0, **{str(video_id): published_ts for video_id, published_ts in posts}})
    pipe.zremrangebyrank(key, 1, -settings.FEED_CAP - 1)  # rank 0 is the marker
    pipe.expire(key, settings.FEED_TTL_S)
    pipe.execute()


def following_forget(user_id: int) -> None:
    redis().delete(feed_key(user_id, FOLLOWING))


def following_push(follower_ids: Iterable[int], video_id: int, published_ts: float) -> None:
    """Fan-out on publish: the video goes into each follower's following feed."""
    pipe = redis().pipeline(transaction=False)
    for follower_id in follower_ids:
        key = feed_key(follower_id, FOLLOWING)
        pipe.zadd(key, {str(video_id): published_ts})
        pipe.zremrangebyrank(key, 1, -settings.FEED_CAP - 1)
        pipe.expire(key, settings.FEED_TTL_S)
    pipe.execute()


def following_remove(user_id: int, video_ids: Sequence[int]) -> None:
    if video_ids:
        redis().zrem(feed_key(user_id, FOLLOWING), *(str(video_id) for video_id in video_ids))


def following_page(user_id: int, *, before: float, limit: int) -> list[tuple[int, float]] | None:
    """(id, publish time) newest first, strictly older than ``before``; None when the feed is not loaded."""
    key = feed_key(user_id, FOLLOWING)
    pipe = redis().pipeline(transaction=False)
    pipe.zscore(key, _LOADED)
    pipe.zrevrangebyscore(key, f"({before}", "(0", start=0, num=limit, withscores=True)
    loaded, rows = pipe.execute()
    if loaded is None:
        return None
    return [(int(member), score) for member, score in rows]


# --- Seen, cards, hidden videos ----------------------------------------------


def mark_seen(user_id: int, video_ids: Sequence[int]) -> None:
    if video_ids:
        pipe = redis().pipeline(transaction=True)
        _seen_add(pipe, user_id, video_ids)
        pipe.execute()


def _seen_add(pipe, user_id: int, video_ids: Sequence[int]) -> None:
    today = seen_keys(user_id)[0]
    pipe.sadd(today, *(str(video_id) for video_id in video_ids))
    pipe.expireat(today, _seen_expires_at())


def seen_among(user_id: int, video_ids: Sequence[int]) -> set[int]:
    if not video_ids:
        return set()
    members = [str(video_id) for video_id in video_ids]
    pipe = redis().pipeline(transaction=False)
    for key in seen_keys(user_id):
        pipe.smismember(key, members)
    days = pipe.execute()
    return {video_id for video_id, *flags in zip(video_ids, *days, strict=True) if any(flags)}


_TOMBSTONE = b"-"


def cards_get(video_ids: Sequence[int]) -> dict[int, Card]:
    return cards_and_hidden(video_ids)[0]


def cards_and_hidden(video_ids: Sequence[int]) -> tuple[dict[int, Card], set[int]]:
    """Cached cards of these videos, and which of them are hidden: one MGET."""
    if not video_ids:
        return {}, set()
    cards, hidden = {}, set()
    client, keys = redis(), [card_key(video_id) for video_id in video_ids]
    # Cards are spread over the cluster: one MGET per slot, sent to each node in one round trip.
    values = client.mget_nonatomic(keys) if _is_cluster(client) else client.mget(keys)
    for video_id, stored in zip(video_ids, values, strict=True):
        if stored == _TOMBSTONE:
            hidden.add(video_id)
        elif stored:
            cards[video_id] = Card.loads(video_id, stored)
    return cards, hidden


def cards_put(cards: Iterable[Card]) -> None:
    """Cache cards where nothing is cached (a tombstone stays; a changed video's card was deleted)."""
    pipe = redis().pipeline(transaction=False)
    for card in cards:
        pipe.set(card_key(card.video_id), card.dumps(), ex=settings.FEED_CARD_TTL_S, nx=True)
    pipe.execute()


def hide_videos(video_ids: Iterable[int]) -> None:
    """Removed or consent-withdrawn: gone from every feed and card cache at once."""
    pipe = redis().pipeline(transaction=False)
    for video_id in video_ids:
        # Long after the tombstone, a card is rebuilt from PostgreSQL, which knows the video is gone.
        pipe.set(card_key(video_id), _TOMBSTONE, ex=settings.FEED_TTL_S)
    pipe.execute()


def cards_drop(video_ids: Iterable[int]) -> None:
    """Forget cached cards (a tombstone too): the next read rebuilds them from PostgreSQL."""
    video_ids = list(video_ids)
    if video_ids:
        redis().delete(*(card_key(video_id) for video_id in video_ids))


# --- After Redis lost writes ----------------------------------------------------

# What Redis holds as a copy of PostgreSQL, which a restart may have left behind the database (the
# writes of the last second before a kill, or those a promoted replica never received): the viewers'
# liked and blocked sets, their following feeds, and the cards. Event claims and counters stay: they
# are what makes re-sent events count once.
_COPIES_OF_POSTGRES = ("feed:*:liked", "feed:*:blocked", "feed:*:following", "card:*")


def _run_id_key() -> str:
    return _key("redis_run_id")


def _run_id(client) -> str:
    """The run id of the server, or those of every primary of a cluster (a restarted primary, or a
    replica promoted in its place, has a new one)."""
    if not _is_cluster(client):
        return client.info("server")["run_id"]
    replies = client.info("server", target_nodes=RedisCluster.PRIMARIES)
    return ",".join(sorted(reply["run_id"] for reply in replies.values()))


def restarted_since_checked() -> str | None:
    """The running Redis's run id when it is not the one last acknowledged (a restart or a failover)."""
    client = redis()
    run_id = _run_id(client)
    known = client.get(_run_id_key())
    return None if known is not None and known.decode() == run_id else run_id


def copies_of_postgres_drop() -> int:
    """Drop every key Redis keeps as a copy of PostgreSQL; the next read rebuilds each."""
    client, dropped = redis(), 0
    for pattern in _COPIES_OF_POSTGRES:
        batch = []
        for key in client.scan_iter(match=_key(pattern), count=1000):
            batch.append(key)
            if len(batch) == 1000:
                dropped += client.unlink(*batch)
                batch = []
        if batch:
            dropped += client.unlink(*batch)
    return dropped


def restart_acknowledge(run_id: str) -> None:
    redis().set(_run_id_key(), run_id)


# --- Trending and event counters ----------------------------------------------


def trending_key() -> str:
    return _key("trending")


def trending_set(scores: dict[int, float]) -> None:
    pipe = redis().pipeline(transaction=True)
    pipe.delete(trending_key())
    if scores:
        pipe.zadd(trending_key(), {str(video_id): score for video_id, score in scores.items()})
    pipe.execute()


def trending_ids(limit: int) -> list[int]:
    return [int(member) for member in redis().zrevrange(trending_key(), 0, limit - 1)]


def _counters_key(*parts: str, shard: int = 0) -> str:
    # One hash tag for a shard's live hash, its batches and their register: one cluster slot,
    # so a batch is taken and registered by one script. Counters are spread over
    # ``FEED_COUNTER_SHARDS`` shards by video, so a cluster spreads their writes over its primaries
    # (shard 0 keeps the names of the single hash there was before shards).
    return _key("{counters}" if shard == 0 else f"{{counters:{shard}}}", *parts)


def counters_key(shard: int = 0) -> str:
    return _counters_key("live", shard=shard)


def _counter_shard(field: str) -> int:
    """The shard of a counter field ``"<video id>:<metric>"``."""
    return int(field.partition(":")[0]) % settings.FEED_COUNTER_SHARDS


def _batch_shard(batch_id: str) -> int:
    """Batches of shard n > 0 are named ``<batch id>.<n>``."""
    _, dot, shard = batch_id.rpartition(".")
    return int(shard) if dot and shard.isdigit() else 0


def _events_key(user_id: int, day: date) -> str:
    return user_key(user_id, f"events:{day.isoformat()}")


def _counted_key(user_id: int, day: date) -> str:
    return user_key(user_id, f"counted:{day.isoformat()}")


def events_day() -> date:
    """The day (UTC) events are counted in: a view counts once per viewer, video and day."""
    return timezone.now().date()


# A viewer's event ids go in a set per day (UTC); an id in today's or yesterday's set was
# counted already. One set per viewer and day, not one key per event: a fraction of the memory.
# In the same script, what an event would count ("<video id>:<kind>") goes in the viewer's
# set of the day: only the first view, impression, completion or skip of a video in a day
# counts, however many fresh event ids a client makes up. Atomic, so concurrent batches of
# one viewer count a video once. Per event: 0 the id was sent before, 1 a new id that counts
# nothing (its video is not countable, or it was counted today), 2 a new id that counts.
_CLAIM_EVENTS_SCRIPT = """
local ids, counted = KEYS[1], KEYS[3]
local result = {}
local n = (#ARGV - 1) / 2
for i = 1, n do
  local event_id, member = ARGV[2 * i], ARGV[2 * i + 1]
  if redis.call('SISMEMBER', KEYS[2], event_id) == 1 or redis.call('SADD', ids, event_id) == 0 then
    result[i] = 0
  elseif member ~= '' and redis.call('SADD', counted, member) == 1 then
    result[i] = 2
  else
    result[i] = 1
  end
end
redis.call('EXPIRE', ids, ARGV[1])
redis.call('EXPIRE', counted, ARGV[1])
return result
"""

DUPLICATE, NOT_COUNTED, COUNTS = 0, 1, 2


def _event_keys(user_id: int) -> list[str]:
    today = events_day()
    return [_events_key(user_id, today), _events_key(user_id, today - timedelta(days=1)), _counted_key(user_id, today)]


def events_claim(user_id: int, events: Sequence[tuple[str, str]]) -> list[int]:
    """Record a viewer's (event id, what it counts) pairs in one round trip.

    Per event: ``DUPLICATE`` (the id was recorded in the last day or two), ``COUNTS`` (a new
    id, and what it counts, such as ``"42:watch"``, was not counted today) or ``NOT_COUNTED``
    (a new id whose count is empty or was counted today already).
    """
    args = [part for event_id, member in events for part in (event_id, member)]
    keys = _event_keys(user_id)
    return [int(flag) for flag in redis().eval(_CLAIM_EVENTS_SCRIPT, len(keys), *keys, 2 * 24 * 3600, *args)]


def events_unclaim(user_id: int, event_ids: Sequence[str], counted: Sequence[str] = ()) -> None:
    """Forget event ids (and what they counted) whose counts were not stored: the batch sent again counts them."""
    if event_ids or counted:
        ids_today, ids_yesterday, counted_today = _event_keys(user_id)
        pipe = redis().pipeline(transaction=False)
        if event_ids:
            pipe.srem(ids_today, *event_ids)
            pipe.srem(ids_yesterday, *event_ids)
        if counted:
            pipe.srem(counted_today, *counted)
        pipe.execute()


def events_apply(user_id: int, increments: dict[str, int], seen_video_ids: Sequence[int]) -> None:
    """Add to the live counters and mark the viewer's impressions seen, in one round trip."""
    pipe = redis().pipeline(transaction=False)
    for field, amount in increments.items():
        pipe.hincrby(counters_key(_counter_shard(field)), field, amount)
    if seen_video_ids:
        _seen_add(pipe, user_id, seen_video_ids)
    pipe.execute()


# Takes the live counters aside as a batch, and registers the batch, at once: increments
# made afterwards start a new live hash, and a flush finds every batch not applied yet
# without scanning the keyspace.
_TAKE_COUNTERS_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""


def counters_take(batch_id: str) -> bool:
    """Move the live counters of every shard aside as batch ``batch_id`` (``<batch id>.<n>`` for shard n > 0);
    False when there were none."""
    client, taken = redis(), False
    for shard in range(settings.FEED_COUNTER_SHARDS):
        shard_batch = f"{batch_id}.{shard}" if shard else batch_id
        keys = [counters_key(shard), _counters_key("batch", shard_batch, shard=shard),
                _counters_key("batches", shard=shard)]  # fmt: skip
        taken |= bool(client.eval(_TAKE_COUNTERS_SCRIPT, len(keys), *keys, shard_batch))
    return taken


def counter_batches() -> list[str]:
    """Ids of the batches taken but not dropped yet, of every shard: applied or not, a flush decides."""
    pipe = redis().pipeline(transaction=False)
    for shard in range(settings.FEED_COUNTER_SHARDS):
        pipe.smembers(_counters_key("batches", shard=shard))
    return sorted(member.decode() for members in pipe.execute() for member in members)


def counters_read(batch_id: str) -> dict[str, int]:
    stored = redis().hgetall(_counters_key("batch", batch_id, shard=_batch_shard(batch_id)))
    return {field.decode(): int(value) for field, value in stored.items()}


def counters_drop(batch_id: str) -> None:
    shard = _batch_shard(batch_id)
    pipe = redis().pipeline(transaction=True)
    pipe.delete(_counters_key("batch", batch_id, shard=shard))
    pipe.srem(_counters_key("batches", shard=shard), batch_id)
    pipe.execute()


def _teen_key(user_id: int) -> str:
    # v2: a set of the videos served today (v1 was a counter).
    return _key("teen", "v2", f"{{u{user_id}}}", timezone.localdate().isoformat())


def teen_cards_add(user_id: int, video_ids: Sequence[int]) -> int:
    """Count these videos as served to a minor today, each once (a retried page counts nothing more);
    returns how many were served today."""
    key = _teen_key(user_id)
    pipe = redis().pipeline(transaction=True)
    if video_ids:
        pipe.sadd(key, *(str(video_id) for video_id in video_ids))
    pipe.expire(key, 2 * 24 * 3600)
    pipe.scard(key)
    return pipe.execute()[-1]


def teen_cards_used(user_id: int) -> int:
    return redis().scard(_teen_key(user_id))
