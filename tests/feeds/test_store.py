"""The Redis feed store against a real Redis."""

from feeds import store


def page_after(user_id, after, limit):
    """The ids a page would show after ``after`` (hidden ones skipped), and the next cursor."""
    window = store.for_you_window(user_id, after=after, limit=limit)
    shown = [video_id for video_id, _ in window["rows"] if video_id not in window["hidden"]][:limit]
    cursor = (
        next((position for video_id, position in window["rows"] if video_id == shown[-1]), after) if shown else after
    )
    return shown, cursor, window["remaining"] - len(shown)


def test_pages_follow_append_order_and_cursors_survive_new_arrivals():
    store.for_you_append(1, [10, 11, 12, 13, 14])
    page, cursor, remaining = page_after(1, 0, 2)
    assert (page, remaining) == ([10, 11], 3)
    store.for_you_append(1, [20, 21, 10])  # a refill while the user scrolls; 10 is already there
    served = list(page)
    while True:
        page, cursor, remaining = page_after(1, cursor, 2)
        if not page:
            break
        served += page
    assert served == [10, 11, 12, 13, 14, 20, 21]


def test_the_stored_feed_is_capped(settings):
    settings.FEED_CAP = 5
    store.for_you_append(1, list(range(1, 9)))
    assert store.for_you_ids(1) == {4, 5, 6, 7, 8}


def test_hidden_videos_vanish_from_pages_and_card_cache():
    store.for_you_append(1, [1, 2, 3])
    store.cards_put({2: {"id": 2}, 3: {"id": 3}})
    store.hide_videos([2])
    page, _, _ = page_after(1, 0, 3)
    assert page == [1, 3]
    assert store.cards_get([2, 3]) == {3: {"id": 3}}
    store.unhide_videos([2])
    assert page_after(1, 0, 3)[0] == [1, 2, 3]


def test_following_feed_is_newest_first_with_a_time_cursor():
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
    keys = [store.feed_key(42, store.FOR_YOU), store.feed_key(42, store.FOLLOWING), store.seen_key(42)]
    assert {key[key.index("{") : key.index("}") + 1] for key in keys} == {"{u42}"}


def test_a_window_reports_seen_cards_and_cached_cards():
    store.for_you_append(3, [7, 8, 9])
    store.mark_seen(3, [8])
    store.cards_put({9: {"id": 9}})
    window = store.for_you_window(3, after=0, limit=5)
    assert ([v for v, _ in window["rows"]], window["seen"], window["cards"], window["remaining"]) == (
        [7, 8, 9], {8}, {9: {"id": 9}}, 3)  # fmt: skip


def test_a_refill_is_claimed_once_at_a_time():
    assert store.refill_claim(5) is True
    assert store.refill_claim(5) is False
    assert store.refill_claim(6) is True
