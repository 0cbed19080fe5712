"""feeds/cold_start: a viewer with no feed in Redis gets a first page from the shared lists at once.

Through the API (the page a phone gets) and the shared lists' build directly. The personal build
the first page queues runs here by calling the task; on a real worker in tests/e2e/test_feed_refill.py.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from backend.videos import services as video_services
from feeds import cold_start, services, store, tasks
from tests.factories import BlockFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
FEED = "/api/v1/feed"


def ids(body) -> list[int]:
    return [card["id"] for card in body["results"]]


def teen():
    return UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15))


@pytest.fixture
def queued(monkeypatch):
    """The personal builds the pages queued on the feeds queue, in order."""
    sent = []
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: sent.append(kwargs))
    return sent


@pytest.fixture
def no_build_on_the_spot(monkeypatch):
    def refuse(**kwargs):
        raise AssertionError("the first page waited for a personal build")

    monkeypatch.setattr("feeds.services.feed_build", refuse)


def run_queued(sent):
    while sent:
        tasks.feed_refill(**sent.pop(0))


def test_a_new_viewers_first_page_is_the_shared_list_and_queues_the_personal_build(
    client_for, queued, no_build_on_the_spot
):
    for _ in range(25):
        VideoFactory()
    shared = cold_start.shared_candidates_build(locale="en", teen=False)
    viewer = UserFactory()
    client = client_for(viewer)

    first = client.get(FEED).json()

    assert ids(first) == shared[:10]
    assert queued == [{"user_id": viewer.id}]
    assert store.redis().zcard(store.feed_key(viewer.id, store.FOR_YOU)) == 0  # nothing personal built yet
    # Retried (the phone lost the response): the same page, and no second build queued.
    assert ids(client.get(FEED).json()) == ids(first)
    assert queued == [{"user_id": viewer.id}]


def test_a_missing_shared_list_is_built_on_the_first_miss_and_kept(client_for, queued, no_build_on_the_spot):
    for _ in range(12):
        VideoFactory()
    viewer = UserFactory()
    assert cold_start.shared_ids_read("en", False) is None
    first = client_for(viewer).get(FEED).json()
    assert len(ids(first)) == 10 and ids(first) == cold_start.shared_ids_read("en", False)[:10]


def test_the_second_page_is_personal_and_repeats_nothing(client_for, queued, settings):
    settings.FEED_SHARED_CANDIDATES = 15
    made = {VideoFactory().id for _ in range(40)}
    cold_start.shared_candidates_build(locale="en", teen=False)
    viewer = UserFactory()
    client = client_for(viewer)
    first = client.get(FEED).json()
    run_queued(queued)  # the worker builds the personal feed
    personal = [int(v) for v in store.redis().zrange(store.feed_key(viewer.id, store.FOR_YOU), 0, -1)]
    assert len(personal) == 40  # built before the shared page was passed: it holds those ids too

    second = client.get(FEED, {"cursor": first["next"]}).json()

    assert ids(second) == [video_id for video_id in personal if video_id not in ids(first)][:10]
    served, cursor = ids(first) + ids(second), second["next"]
    while cursor:
        page = client.get(FEED, {"cursor": cursor}).json()
        served += ids(page)
        cursor = page["next"]
    assert sorted(served) == sorted(made)  # every video once


def test_the_second_page_is_built_on_the_spot_when_the_worker_is_not_done(client_for, queued):
    made = {VideoFactory().id for _ in range(25)}
    cold_start.shared_candidates_build(locale="en", teen=False)
    client = client_for(UserFactory())
    first = client.get(FEED).json()
    second = client.get(FEED, {"cursor": first["next"]}).json()  # no worker ran
    third = client.get(FEED, {"cursor": second["next"]}).json()
    served = ids(first) + ids(second) + ids(third)
    assert len(served) == len(set(served)) == 25 and set(served) == made


def test_a_blocked_author_never_appears_either_way_nor_the_viewers_own_videos(client_for, queued):
    viewer = UserFactory()
    blocked_by_viewer, blocking_viewer = UserFactory(), UserFactory()
    BlockFactory(blocker=viewer, blocked=blocked_by_viewer)
    BlockFactory(blocker=blocking_viewer, blocked=viewer)
    hidden = {
        VideoFactory(owner=author).id for author in (blocked_by_viewer, blocking_viewer, viewer) for _ in range(3)
    }
    kept = {VideoFactory().id for _ in range(15)}
    shared = cold_start.shared_candidates_build(locale="en", teen=False)
    assert hidden <= set(shared)  # the list is everyone's: the viewer's blocks apply on serving

    client = client_for(viewer)
    first = client.get(FEED).json()
    second = client.get(FEED, {"cursor": first["next"]}).json()

    assert not (set(ids(first)) | set(ids(second))) & hidden
    assert len(ids(first)) == 10 and set(ids(first)) | set(ids(second)) == kept


def test_a_minor_never_gets_an_adult_candidate_and_adults_get_their_own_list(client_for, queued):
    unsafe = {VideoFactory(safe_for_teens=False).id for _ in range(5)}
    safe = {VideoFactory().id for _ in range(5)}

    teen_list = cold_start.shared_candidates_build(locale="en", teen=True)
    adult_list = cold_start.shared_candidates_build(locale="en", teen=False)

    assert set(teen_list) == safe and set(adult_list) == safe | unsafe
    assert cold_start.shared_key("en", True) != cold_start.shared_key("en", False)
    assert set(ids(client_for(teen()).get(FEED).json())) == safe
    # Even from a list that held one (built before the video was marked unsafe): the card filter drops it.
    store.redis().set(cold_start.shared_key("en", True), ",".join(map(str, adult_list)))
    assert set(ids(client_for(teen()).get(FEED).json())) <= safe


def test_removed_and_seen_videos_are_left_out(client_for, queued):
    videos = [VideoFactory() for _ in range(14)]
    shared = cold_start.shared_candidates_build(locale="en", teen=False)
    removed = next(video for video in videos if video.id == shared[0])
    video_services.video_remove(video=removed, by=None, reason="test")
    store.hide_videos([removed.id])  # what the removal's receiver does on commit
    viewer = UserFactory()
    store.mark_seen(viewer.id, shared[1:3])  # impressions sent earlier
    page = ids(client_for(viewer).get(FEED).json())
    assert page == shared[3:13]


def test_the_viewers_locale_picks_its_list_and_its_authors_lead_it(client_for, queued):
    spanish_author = UserFactory(language="es-es")
    # Older, so without the locale's lift it would come last.
    spanish = VideoFactory(owner=spanish_author, published_at=timezone.now() - timedelta(hours=20))
    others = [VideoFactory() for _ in range(5)]
    viewer = UserFactory(language="es-mx")
    assert cold_start.locale_of(viewer) == "es"
    assert ids(client_for(viewer).get(FEED).json())[0] == spanish.id
    assert cold_start.shared_ids_read("es", False)[0] == spanish.id
    assert cold_start.shared_candidates_build(locale="en", teen=False)[0] != spanish.id
    assert {video.id for video in others} <= set(cold_start.shared_ids_read("es", False))


@pytest.mark.parametrize(
    ("language", "locale"), [("", "en"), ("ja-JP", "ja"), ("zh-TW", "zh-hant"), ("xx-evil", "en"), ("en-gb", "en")]
)
def test_a_locale_is_one_of_the_configured_languages(language, locale):
    assert cold_start.locale_of(UserFactory.build(language=language)) == locale


def test_a_shared_page_costs_two_queries_for_any_list_and_the_personal_page_after_it_one(
    client_for, queued, settings, django_assert_num_queries
):
    for count in (2, 20):
        for _ in range(count):
            VideoFactory()
        cold_start.shared_candidates_build(locale="en", teen=False)
        viewer = UserFactory()
        client = client_for(viewer)
        with django_assert_num_queries(2):  # authentication, and the viewer's blocks and likes of the page
            first = client.get(FEED).json()
        with django_assert_num_queries(2):  # retried: the same
            assert client.get(FEED).json()["results"] == first["results"]
        run_queued(queued)  # the personal build also loads the viewer's blocks and likes into Redis
        with django_assert_num_queries(1):  # authentication only
            assert client.get(FEED, {"cursor": first["next"]}).status_code == 200
        store.redis().delete(cold_start.shared_key("en", False))


def test_a_viewer_who_steers_their_feed_gets_a_steered_first_page_and_others_the_shared_one(
    client_for, queued, django_assert_num_queries
):
    horror = VideoFactory(prompt="a horror movie in a dark basement", like_count=50, impression_count=100)
    cooking = VideoFactory(prompt="cooking pasta on the moon")
    assert cold_start.shared_candidates_build(locale="en", teen=False) == [horror.id, cooking.id]
    steering, plain = UserFactory(), UserFactory()
    client = client_for(steering)
    put = client.put(f"{FEED}/preferences", {"text": "more cooking, no horror"}, format="json")
    assert put.status_code == 200

    first = client.get(FEED).json()
    assert ids(first) == [cooking.id, horror.id]
    assert store.redis().zcard(store.feed_key(steering.id, store.FOR_YOU)) == 2  # built on the spot
    others = client_for(plain)
    with django_assert_num_queries(2):  # still one query besides authentication for the viewer who does not
        assert ids(others.get(FEED).json()) == [horror.id, cooking.id]
    assert not store.redis().exists(store.feed_key(plain.id, store.FOR_YOU))


def test_with_the_setting_off_the_first_page_waits_for_the_personal_build(client_for, queued, settings):
    settings.FEED_SHARED_FIRST_PAGE = False
    for _ in range(12):
        VideoFactory()
    viewer = UserFactory()
    client_for(viewer).get(FEED)
    assert store.redis().zcard(store.feed_key(viewer.id, store.FOR_YOU)) == 12
    assert cold_start.shared_ids_read("en", False) is None


def test_beat_refreshes_every_configured_list_twice_harmlessly(settings):
    settings.FEED_SHARED_LOCALES = ["en", "es"]
    assert "feeds.shared_candidates_refresh" in {
        entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
    }
    unsafe, safe = VideoFactory(safe_for_teens=False), VideoFactory()
    for _ in range(2):
        tasks.shared_candidates_refresh()
    for locale in ("en", "es"):
        assert set(cold_start.shared_ids_read(locale, False)) == {unsafe.id, safe.id}
        assert cold_start.shared_ids_read(locale, True) == [safe.id]
    assert set(store.cards_get([unsafe.id, safe.id])) == {unsafe.id, safe.id}  # cached for the first pages
    assert store.redis().ttl(cold_start.shared_key("en", False)) <= settings.FEED_SHARED_TTL_S


def walk(client, first) -> list[int]:
    served, cursor = ids(first), first["next"]
    while cursor:
        page = client.get(FEED, {"cursor": cursor}).json()
        served += ids(page)
        cursor = page["next"]
    return served


def test_the_workers_build_landing_between_the_second_pages_take_and_build_loses_nothing(
    client_for, queued, monkeypatch
):
    made = {VideoFactory().id for _ in range(16)}
    cold_start.shared_candidates_build(locale="en", teen=False)
    viewer = UserFactory()
    client = client_for(viewer)
    first = client.get(FEED).json()
    build_on_the_spot = services.feed_build

    def worker_first(*, user):
        run_queued(queued)  # the worker stores the personal feed just after the page found none
        return build_on_the_spot(user=user)  # and so this build adds nothing

    monkeypatch.setattr("feeds.services.feed_build", worker_first)
    served = walk(client, first)

    assert len(served) == len(set(served)) and set(served) == made
