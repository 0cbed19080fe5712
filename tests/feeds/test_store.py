"""The Redis feed store against a real Redis."""

import time
from datetime import UTC, datetime, timedelta

from feeds import store
from feeds.cards import Card


def take_all(user_id, after, limit):
    """Every page from ``after`` to the end, as lists of ids."""
    pages = []
    while (taken := store.for_you_take(user_id, after=after, limit=limit)).video_ids:
        pages.append(taken.video_ids)
        after = taken.position
    return pages


def test_pages_follow_append_order_and_cursors_survive_new_arrivals():
    store.for_you_append(1, [10, 11, 12, 13, 14])
    first = store.for_you_take(1, after=None, limit=2)
    assert (first.video_ids, first.remaining) == ([10, 11], 3)
    store.for_you_append(1, [20, 21, 10])  # a refill while the user scrolls; 10 is already there
    assert take_all(1, first.position, 2) == [[12, 13], [14, 20], [21]]


def test_there_is_nothing_to_take_without_a_stored_feed():
    assert store.for_you_take(1, after=None, limit=5) is None


def test_the_stored_feed_is_capped(settings):
    settings.FEED_CAP = 5
    store.for_you_append(1, list(range(1, 9)))
    assert store.for_you_ids(1) == {4, 5, 6, 7, 8}


def test_hidden_videos_are_reported_and_leave_the_card_cache():
    two, three = Card(2, 7, True, True, b'{"id":2}'), Card(3, 8, False, True, b'{"id":3}')
    store.cards_put([two, three])
    store.hide_videos([2])
    assert store.cards_and_hidden([1, 2, 3]) == ({3: three}, {2})
    store.cards_drop([2])
    assert store.cards_and_hidden([1, 2, 3]) == ({3: three}, set())


def test_a_card_built_just_before_a_removal_cannot_bring_the_video_back():
    stale = Card(2, 7, True, True, b'{"id":2}')  # read from PostgreSQL before the removal committed
    store.hide_videos([2])
    store.cards_put([stale])
    assert store.cards_and_hidden([2]) == ({}, {2})


def test_following_feed_is_newest_first_with_a_time_cursor():
    store.following_fill(7, [])
    store.following_fill(8, [])
    store.following_push([7, 8], 100, 1000.0)
    store.following_push([7], 101, 2000.0)
    store.following_push([7], 102, 3000.0)
    first = store.following_page(7, before=float("inf"), limit=2)
    assert first == [(102, 3000.0), (101, 2000.0)]
    store.following_push([7], 103, 4000.0)  # newer post arrives while paging
    assert store.following_page(7, before=first[-1][1], limit=2) == [(100, 1000.0)]
    assert store.following_page(8, before=float("inf"), limit=5) == [(100, 1000.0)]


def test_seen_videos_are_remembered_per_user():
    store.mark_seen(1, [5, 6])
    assert store.seen_among(1, [4, 5, 6]) == {5, 6}
    assert store.seen_among(2, [5]) == set()


def test_keys_of_one_user_share_a_cluster_hash_tag():
    keys = [store.feed_key(42, store.FOR_YOU), store.feed_key(42, store.FOLLOWING), *store.seen_keys(42)]
    assert {key[key.index("{") : key.index("}") + 1] for key in keys} == {"{u42}"}


DAY = 86400


def test_what_was_seen_is_remembered_over_the_candidate_window_and_then_forgotten(settings, monkeypatch):
    """A video seen 14 days ago may still be a candidate (the window is 14 days): it stays seen, on every
    path that asks (a page taken from the stored feed, the build's filter). One seen 15 days ago was
    published before the window, so it can be a candidate no more: its day is gone from Redis."""
    settings.FEED_CANDIDATE_WINDOW_DAYS = 14
    start = 30_000 * DAY + 3600.0  # days ahead of Redis's own clock, which expires the sets
    clock = {"now": start}
    monkeypatch.setattr(store.timezone, "now", lambda: datetime.fromtimestamp(clock["now"], tz=UTC))
    store.mark_seen(5, [101])
    clock["now"] = start + DAY
    store.mark_seen(5, [102])
    store.for_you_append(5, [101, 102, 103])

    clock["now"] = start + 14 * DAY
    assert store.seen_among(5, [101, 102, 103]) == {101, 102}
    assert store.for_you_take(5, after=None, limit=3).video_ids == [103]

    clock["now"] = start + 15 * DAY
    assert store.seen_among(5, [101, 102, 103]) == {102}
    assert store.for_you_take(5, after=None, limit=3).video_ids == [101, 103]
    # Each day's set expires by itself at the end of the window, however often the viewer comes back.
    client = store.redis()
    first_day = store.seen_keys(5, now=start)[0]
    assert abs(client.ttl(first_day) - ((30_000 + 15) * DAY - time.time())) <= 2
    assert client.ttl(store.seen_keys(5)[0]) == -2  # nothing seen today: no set


def test_a_day_of_seen_ids_stays_a_compact_intset():
    store.mark_seen(6, list(range(1_000_000, 1_000_300)))
    today = store.seen_keys(6)[0]
    assert store.redis().object("encoding", today) in (b"intset", "intset")
    assert store.redis().memory_usage(today) < 2_000  # 300 ids; one set of strings took about 62 bytes an id


def scroll(user_id, *, pages, limit):
    """What the app does: the first page, then each next page by its cursor; the last take."""
    taken = store.for_you_take(user_id, after=None, limit=limit)
    taken_pages = [taken]
    for _ in range(pages - 1):
        taken = store.for_you_take(user_id, after=taken.position, limit=limit, move_head=True)
        taken_pages.append(taken)
    return taken_pages


def test_taking_skips_seen_ids_and_changes_nothing_until_the_next_cursor_is_used():
    store.for_you_append(3, [7, 8, 9, 10, 11])
    store.mark_seen(3, [8])
    taken = store.for_you_take(3, after=None, limit=2)
    assert (taken.video_ids, taken.remaining) == ([7, 9], 2)
    # A retried request (its response was lost): the same page, nothing marked seen.
    assert store.for_you_take(3, after=None, limit=2).video_ids == [7, 9]
    assert store.seen_among(3, [7, 9, 10]) == set()
    # The next cursor: the first page was passed, so it is marked seen and the read head moves past it.
    following = store.for_you_take(3, after=taken.position, limit=2, move_head=True)
    assert following.video_ids == [10, 11]
    assert store.seen_among(3, [7, 9, 10, 11]) == {7, 9}
    assert store.for_you_take(3, after=taken.position, limit=2, move_head=True).video_ids == [10, 11]  # retried
    assert store.for_you_take(3, after=None, limit=2).video_ids == [10, 11]  # no cursor: from the read head
    assert store.for_you_take(3, after=0, limit=5).video_ids == [10, 11]  # an old cursor: the rest is seen


def test_taking_reports_the_viewers_likes_and_blocks_once_loaded():
    store.for_you_append(4, [1, 2])
    taken = store.for_you_take(4, after=None, limit=1)
    assert (taken.liked, taken.blocked) == (None, None)
    store.viewer_set_fill(4, "liked", [2])
    store.viewer_set_fill(4, "blocked", [], version="17")
    taken = store.for_you_take(4, after=taken.position, limit=1)
    assert (taken.video_ids, taken.liked, taken.blocked, taken.blocked_version) == ([2], {2}, set(), "17")


def test_a_refill_is_claimed_once_at_a_time(settings):
    settings.FEED_REFILL_BELOW = 3
    settings.FEED_WARM_CARDS = 3
    store.for_you_append(5, [1, 2, 3, 4, 5])
    store.cards_warm_until_set(5, 5)  # cached cards do not run low here
    claims = [taken.refill_claimed for taken in scroll(5, pages=4, limit=1)]
    assert claims == [False, False, True, False]  # 4, 3, then 2 left: claimed once, below 3


def test_a_refill_is_claimed_when_cached_cards_run_low_ahead_of_the_viewer(settings):
    settings.FEED_WARM_CARDS = 6  # a refill is due with fewer than 2 cached cards ahead
    settings.FEED_REFILL_BELOW = 1  # ids do not run low here
    store.for_you_append(6, list(range(1, 21)))
    store.cards_warm_until_set(6, 6)
    claims = [taken.refill_claimed for taken in scroll(6, pages=3, limit=2)]
    assert claims == [False, False, True]  # 4, 2, then 0 cached cards ahead


def test_no_refill_is_claimed_while_every_remaining_card_is_cached(settings):
    settings.FEED_REFILL_BELOW = 1
    store.for_you_append(7, list(range(1, 11)))
    store.cards_warm_until_set(7, 10)
    assert not any(taken.refill_claimed for taken in scroll(7, pages=4, limit=2))


def test_a_following_feed_is_not_loaded_until_filled_from_postgresql():
    store.following_push([7], 100, 1000.0)  # fan-out into a feed that expired
    assert store.following_page(7, before=float("inf"), limit=5) is None
    store.following_fill(7, [(90, 900.0)])
    assert store.following_page(7, before=float("inf"), limit=5) == [(100, 1000.0), (90, 900.0)]


def test_a_loaded_following_feed_stays_capped_and_loaded(settings):
    settings.FEED_CAP = 3
    store.following_fill(7, [(n, float(n)) for n in range(1, 6)])
    store.following_push([7], 6, 6.0)
    assert store.following_page(7, before=float("inf"), limit=10) == [(6, 6.0), (5, 5.0), (4, 4.0)]


def claim(user_id, *ids):
    """Claim event ids that count nothing: True for each one not recorded in the last day or two."""
    return [flag != store.DUPLICATE for flag in store.events_claim(user_id, [(event_id, "") for event_id in ids])]


def test_event_ids_count_once_for_a_day_or_two(monkeypatch):
    clock = [datetime(2026, 11, 24, 23, 59, tzinfo=UTC)]
    monkeypatch.setattr(store.timezone, "now", lambda: clock[0])
    assert claim(1, "a", "b", "a") == [True, True, False]
    assert claim(2, "a") == [True]  # ids are per viewer
    clock[0] = datetime(2026, 11, 25, 0, 1, tzinfo=UTC)  # past midnight: yesterday's ids still count
    assert claim(1, "a", "c") == [False, True]
    store.events_unclaim(1, ["b", "c"])
    assert claim(1, "b", "c") == [True, True]
    clock[0] = datetime(2026, 11, 27, 0, 1, tzinfo=UTC)
    assert claim(1, "a") == [True]


def test_what_an_event_counts_counts_once_per_viewer_and_day(monkeypatch):
    clock = [datetime(2026, 11, 24, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(store.timezone, "now", lambda: clock[0])
    duplicate, not_counted, counts = store.DUPLICATE, store.NOT_COUNTED, store.COUNTS
    assert store.events_claim(1, [("a", "5:watch"), ("b", "5:watch"), ("c", "5:impression"), ("a", "5:skip")]) == [
        counts, not_counted, counts, duplicate]  # fmt: skip
    assert store.events_claim(2, [("a", "5:watch")]) == [counts]  # per viewer
    store.events_unclaim(1, ["b"], ["5:watch"])  # a count that was not stored is released
    assert store.events_claim(1, [("b", "5:watch")]) == [counts]
    clock[0] += timedelta(days=1)
    assert store.events_claim(1, [("d", "5:watch")]) == [counts]  # the next day counts again


def test_an_append_racing_another_keeps_each_ids_first_place(monkeypatch):
    # A page built on the spot beside the worker's build: both read the feed before either wrote.
    store.for_you_append(7, [1, 2, 3])
    monkeypatch.setattr(store.redis(), "zmscore", lambda key, members: [None] * len(members))
    store.for_you_append(7, [4, 3])
    order = [int(member) for member in store.redis().zrange(store.feed_key(7, store.FOR_YOU), 0, -1)]
    assert order == [1, 2, 3, 4]  # 3 moved behind 4 would be served again after the viewer passed it
