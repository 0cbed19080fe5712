"""Refills on a real Celery worker: the feed stays ahead of a scrolling viewer, in ids and in cached cards."""

import pytest

from feeds import cold_start, store
from tests.factories import UserFactory, VideoFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]
FEED = "/api/v1/feed"


def stored(viewer) -> list[int]:
    return [int(video_id) for video_id in store.redis().zrange(store.feed_key(viewer.id, store.FOR_YOU), 0, -1)]


def test_a_worker_keeps_ids_and_cards_ahead_of_a_scrolling_viewer(start_worker, client_for, settings):
    settings.FEED_SHARED_FIRST_PAGE = False  # the personal first page, built on the spot
    settings.FEED_WARM_CARDS = 12  # a refill is due with fewer than 4 cached cards ahead
    worker = start_worker(env={"FEED_WARM_CARDS": "12"})
    for _ in range(45):
        VideoFactory()
    viewer = UserFactory()
    client = client_for(viewer)

    first = client.get(FEED).json()  # built on the spot, with the cards of the first 12
    in_order = stored(viewer)
    assert len(in_order) == 45 and [card["id"] for card in first["results"]] == in_order[:10]
    # 2 cached cards ahead: the page queued a refill, and the worker caches the next 12.
    wait_until(lambda: set(store.cards_get(in_order)) == set(in_order[:22]), worker)

    newcomers = {VideoFactory().id for _ in range(5)}
    second = client.get(FEED, {"cursor": first["next"]}).json()  # 25 ids left: fewer than 30
    wait_until(lambda: len(stored(viewer)) == 50, worker)
    assert set(stored(viewer)[45:]) == newcomers
    assert [card["id"] for card in second["results"]] == in_order[10:20]

    served, cursor = [], second["next"]
    while cursor:
        page = client.get(FEED, {"cursor": cursor}).json()
        served += [card["id"] for card in page["results"]]
        cursor = page["next"]
    assert served == in_order[20:] + stored(viewer)[45:]


def test_a_new_viewers_first_page_is_shared_and_a_worker_builds_the_personal_second(start_worker, client_for):
    worker = start_worker(queues="feeds")
    made = {VideoFactory().id for _ in range(30)}
    viewer = UserFactory()
    client = client_for(viewer)

    first = client.get(FEED).json()  # from the shared list, built on this first miss
    assert [card["id"] for card in first["results"]] == cold_start.shared_ids_read("en", False)[:10]
    wait_until(lambda: len(stored(viewer)) == 30, worker)  # the page queued the personal build on `feeds`

    second = client.get(FEED, {"cursor": first["next"]}).json()
    shown = [card["id"] for card in first["results"]]
    assert [card["id"] for card in second["results"]] == [v for v in stored(viewer) if v not in shown][:10]
    served, cursor = shown + [card["id"] for card in second["results"]], second["next"]
    while cursor:
        page = client.get(FEED, {"cursor": cursor}).json()
        served += [card["id"] for card in page["results"]]
        cursor = page["next"]
    assert sorted(served) == sorted(made)
