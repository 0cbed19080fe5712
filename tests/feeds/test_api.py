"""The feed API end to end in one process: build, serve, filters, cursors, events, fallbacks.

Counting events and parsing steering words, called directly, are in test_services.py; the reads in test_selectors.py.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.creators import services as creator_services
from backend.videos import services as video_services
from backend.videos.models import Video
from feeds import services, store, tasks
from tests.factories import AppearanceFactory, CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
FEED = "/api/v1/feed"


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    # Refills and fan-out run on workers (tests/e2e); here pages read what the build stored.
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
    monkeypatch.setattr("feeds.tasks.video_fanout.delay", lambda **kwargs: None)


def videos(count, **fields):
    return [VideoFactory(**fields) for _ in range(count)]


def all_pages(client, kind="for_you", limit=50):
    served, cursor = [], None
    for _ in range(limit):
        body = client.get(FEED, {"kind": kind, **({"cursor": cursor} if cursor else {})}).json()
        served += [card["id"] for card in body["results"]]
        cursor = body["next"]
        if not cursor:
            break
    return served


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", FEED), ("post", f"{FEED}/events"), ("get", f"{FEED}/preferences"), ("put", f"{FEED}/preferences")],
)
def test_anonymous_gets_401(api_client, method, path):
    assert getattr(api_client, method)(path).status_code == 401


def test_cards_carry_what_a_player_needs(client_for):
    cameo = CameoFactory()
    video = VideoFactory(hls="videos/x/hls/master.m3u8", mp4="videos/x/video.mp4", poster="videos/x/poster.jpg")
    AppearanceFactory(cameo=cameo, video=video)
    viewer = UserFactory()
    video_services.like_create(video=video, user=viewer)
    card = client_for(viewer).get(FEED).json()["results"][0]
    assert card["id"] == video.id
    assert card["hls_url"].endswith("master.m3u8") and card["mp4_url"].endswith("video.mp4")
    assert (card["liked"], card["like_count"], card["ai_generated"]) == (True, 1, True)
    assert card["cameo_handles"] == [cameo.owner.handle]
    assert card["author"]["handle"] == video.owner.handle


def test_no_page_has_more_than_two_videos_of_one_author(client_for):
    prolific = UserFactory()
    videos(8, owner=prolific)
    for _ in range(12):
        VideoFactory()
    client = client_for(UserFactory())
    cursor, pages = None, []
    while True:
        body = client.get(FEED, {"cursor": cursor} if cursor else {}).json()
        pages.append(body["results"])
        cursor = body["next"]
        if not cursor:
            break
    full_pages = [page for page in pages if len(page) == 10]
    assert full_pages
    for page in full_pages[:-1]:
        assert max(Counter(card["author"]["handle"] for card in page).values()) <= 2


def test_engagement_ranks_first(client_for):
    hit = VideoFactory(impression_count=1000, like_count=500, completion_count=800)
    dud = VideoFactory(impression_count=1000, like_count=3, completion_count=40)
    served = all_pages(client_for(UserFactory()))
    assert served.index(hit.id) < served.index(dud.id)


@pytest.mark.parametrize("case", ["blocked_author", "blocking_author", "removed", "private", "followers_only",
                                  "consent_withdrawn", "draft", "own"])  # fmt: skip
def test_filters(client_for, case):
    viewer = UserFactory()
    kept = VideoFactory()
    fields = {"private": {"visibility": "private"}, "followers_only": {"visibility": "followers"},
              "draft": {"status": "draft"}, "own": {"owner": viewer}}.get(case, {})  # fmt: skip
    target = VideoFactory(**fields)
    if case == "blocked_author":
        creator_services.block_create(blocker=viewer, blocked=target.owner)
    if case == "blocking_author":
        creator_services.block_create(blocker=target.owner, blocked=viewer)
    if case == "removed":
        video_services.video_remove(video=target, by=target.owner, reason="x")
    if case == "consent_withdrawn":
        video_services.videos_mark_consent_withdrawn(video_ids=[target.id])
    served = all_pages(client_for(viewer))
    assert kept.id in served and target.id not in served


def test_already_seen_videos_are_not_served_again(client_for):
    seen, unseen = VideoFactory(), VideoFactory()
    viewer = UserFactory()
    store.mark_seen(viewer.id, [seen.id])
    assert all_pages(client_for(viewer)) == [unseen.id]


def test_removal_and_revocation_disappear_from_stored_feeds_at_once(client_for, django_capture_on_commit_callbacks):
    viewer = UserFactory()
    removed, with_cameo, other = VideoFactory(), VideoFactory(), VideoFactory()
    cameo = CameoFactory(audience="everyone")
    AppearanceFactory(cameo=cameo, video=with_cameo)
    services.feed_build(user=viewer)
    assert store.for_you_ids(viewer.id) == {removed.id, with_cameo.id, other.id}
    with django_capture_on_commit_callbacks(execute=True):
        video_services.video_remove(video=removed, by=removed.owner, reason="x")
        client_for(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"audience": "only_me"}, format="json")
    assert all_pages(client_for(viewer)) == [other.id]


def test_cursor_is_stable_while_new_videos_arrive(client_for):
    viewer = UserFactory()
    client = client_for(viewer)
    first_batch = {v.id for v in videos(25)}
    body = client.get(FEED).json()
    served = [card["id"] for card in body["results"]]
    cursor = body["next"]
    newcomers = {v.id for v in videos(10)}
    services.feed_build(user=viewer)  # a refill lands while the viewer scrolls
    while cursor:
        body = client.get(FEED, {"cursor": cursor}).json()
        served += [card["id"] for card in body["results"]]
        cursor = body["next"]
    assert len(served) == len(set(served)), "a card was served twice"
    assert set(served) == first_batch | newcomers, "a card was skipped"


def test_a_tampered_or_foreign_cursor_is_refused(client_for):
    videos(15)
    ana, bea = UserFactory(), UserFactory()
    cursor = client_for(ana).get(FEED).json()["next"]
    assert client_for(bea).get(FEED, {"cursor": cursor}).json()["error"]["code"] == "invalid_cursor"
    assert client_for(ana).get(FEED, {"cursor": cursor[:-3] + "abc"}).status_code == 400
    too_long = client_for(ana).get(FEED, {"cursor": "x" * 2001})  # refused before its signature is computed
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize(("query", "field"), [({"kind": "trending"}, "kind"), ({"kind": ""}, "kind")])
def test_a_bad_query_is_400_naming_the_field(client_for, query, field):
    response = client_for(UserFactory()).get(FEED, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["details"]


def test_a_page_costs_the_same_number_of_queries_wherever_it_is(client_for, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    refills = []
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: refills.append(kwargs))

    def feeds_worker():
        while refills:
            tasks.feed_refill(**refills.pop())

    videos(40)
    client = client_for(UserFactory())
    body = client.get(FEED).json()
    counts = []
    cursor = body["next"]
    for _ in range(3):
        feeds_worker()
        with CaptureQueriesContext(connection) as queries:
            body = client.get(FEED, {"cursor": cursor}).json()
        counts.append(len(queries))
        cursor = body["next"]
    # only authentication: blocks, likes, cards and the page all come from Redis (videos and cameos
    # are queried only for cards not cached yet; the refill the first page queued cached the next ones)
    assert counts == [1, 1, 1], counts


def test_cards_stay_cached_ahead_of_the_viewer(client_for, settings, monkeypatch, django_assert_num_queries):
    settings.FEED_SHARED_FIRST_PAGE = False  # the first page is the personal one, built on the spot
    settings.FEED_WARM_CARDS = 12  # a refill is due with fewer than 4 cached cards ahead
    refills = []
    monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: refills.append(kwargs))
    videos(60)
    viewer = UserFactory()
    client = client_for(viewer)
    first = client.get(FEED).json()  # builds the feed; caches the cards it serves, and no more
    in_order = [int(video_id) for video_id in store.redis().zrange(store.feed_key(viewer.id, "for_you"), 0, -1)]
    assert set(store.cards_get(in_order)) == set(in_order[:10])
    assert refills == [{"user_id": viewer.id}]  # no card cached ahead: the worker caches them

    tasks.feed_refill(user_id=viewer.id)
    tasks.feed_refill(user_id=viewer.id)  # a second run finds nothing to do
    assert set(store.cards_get(in_order)) == set(in_order[:22])  # the next 12
    with django_assert_num_queries(1):  # authentication only: every card of the page was cached
        second = client.get(FEED, {"cursor": first["next"]}).json()
    assert [card["id"] for card in second["results"]] == in_order[10:20]


def test_following_feed_is_newest_first_from_fan_out(client_for):
    viewer, author, stranger = UserFactory(), UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=author)
    old = VideoFactory(owner=author, published_at=timezone.now() - timedelta(hours=2))
    new = VideoFactory(owner=author)
    VideoFactory(owner=stranger)
    for video in (old, new):
        services.video_fanout(video_id=video.id)
    assert all_pages(client_for(viewer), kind="following") == [new.id, old.id]


def test_unfollowed_authors_leave_the_following_feed(client_for, django_capture_on_commit_callbacks):
    viewer, author, other = UserFactory(), UserFactory(), UserFactory()
    for followee in (author, other):
        creator_services.follow_create(follower=viewer, followee=followee)
    posts = [VideoFactory(owner=author), VideoFactory(owner=other)]
    for post in posts:
        services.video_fanout(video_id=post.id)
    with django_capture_on_commit_callbacks(execute=True):
        creator_services.follow_delete(follower=viewer, followee=author)
    assert all_pages(client_for(viewer), kind="following") == [posts[1].id]


def test_large_accounts_are_merged_in_at_read_time(client_for, settings):
    settings.FEED_FANOUT_MAX_FOLLOWERS = 0
    viewer, star = UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=star)
    post = VideoFactory(owner=star)
    VideoFactory(owner=star, visibility="private")
    assert services.video_fanout(video_id=post.id) == 0
    assert all_pages(client_for(viewer), kind="following") == [post.id]


class TestRedisDown:
    def test_the_feed_is_served_from_postgresql(self, client_for, redis_down):
        made = videos(15)
        client = client_for(UserFactory())
        first = client.get(FEED)
        assert first.status_code == 200
        second = client.get(FEED, {"cursor": first.json()["next"]}).json()
        served = [c["id"] for c in first.json()["results"] + second["results"]]
        assert served == [v.id for v in sorted(made, key=lambda v: (v.published_at, v.id), reverse=True)]

    def test_following_too(self, client_for, redis_down):
        viewer, author = UserFactory(), UserFactory()
        creator_services.follow_create(follower=viewer, followee=author)
        post = VideoFactory(owner=author, visibility="followers")
        assert [c["id"] for c in client_for(viewer).get(FEED, {"kind": "following"}).json()["results"]] == [post.id]


class TestTeens:
    @pytest.fixture
    def teen(self):
        return UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15))

    def test_minors_see_only_videos_marked_safe(self, client_for, teen):
        safe, unsafe = VideoFactory(), VideoFactory(safe_for_teens=False)
        served = all_pages(client_for(teen))
        assert safe.id in served and unsafe.id not in served

    def test_daily_scroll_limit(self, client_for, teen, settings):
        settings.FEED_TEEN_DAILY_CARDS = 10
        videos(25)
        client = client_for(teen)
        first = client.get(FEED)
        assert len(first.json()["results"]) == 10
        limited = client.get(FEED, {"cursor": first.json()["next"]})
        assert (limited.status_code, limited.json()["error"]["code"]) == (429, "teen_daily_limit")
        adult = client_for(UserFactory())
        assert adult.get(FEED).status_code == 200


class TestEvents:
    def event(self, event_id, video, kind="impression", **extra):
        return {"id": event_id, "video_id": video.id, "type": kind, **extra}

    def test_events_are_counted_once_per_id_and_flushed(self, client_for):
        video, viewer = VideoFactory(duration_s=8), UserFactory()
        client = client_for(viewer)
        batch = [self.event("e1", video), self.event("e2", video, "watch", watch_ms=4500),
                 self.event("e3", video, "complete")]  # fmt: skip
        assert client.post("/api/v1/feed/events", {"events": batch}, format="json").data == {
            "accepted": 3, "duplicates": 0, "ignored": 0}  # fmt: skip
        assert client.post("/api/v1/feed/events", {"events": batch}, format="json").data["duplicates"] == 3
        services.counters_flush()
        video.refresh_from_db()
        assert (video.impression_count, video.view_count, video.watch_seconds, video.completion_count) == (1, 1, 4, 1)
        assert store.seen_among(viewer.id, [video.id]) == {video.id}

    def test_unknown_videos_are_ignored_like_hidden_ones(self, client_for):
        video, draft = VideoFactory(), VideoFactory(status="draft", published_at=None)
        client = client_for(UserFactory())
        batch = [
            self.event("k1", video),
            {"id": "k2", "video_id": video.id + 1000, "type": "impression"},
            self.event("k3", draft),
        ]
        body = client.post("/api/v1/feed/events", {"events": batch}, format="json").json()
        assert body == {"accepted": 1, "duplicates": 0, "ignored": 2}

    def test_events_on_videos_the_viewer_cannot_see_move_no_counter(self, client_for):
        viewer = UserFactory()
        private, draft, removed = VideoFactory(visibility="private"), VideoFactory(status="draft"), VideoFactory()
        video_services.video_remove(video=removed, by=removed.owner, reason="x")
        batch = [self.event(f"i{n}", video) for n, video in enumerate((private, draft, removed))]
        body = client_for(viewer).post("/api/v1/feed/events", {"events": batch}, format="json").data
        assert body == {"accepted": 0, "duplicates": 0, "ignored": 3}
        services.counters_flush()
        assert [v.impression_count for v in Video.objects.filter(id__in=[private.id, draft.id, removed.id])] == [0] * 3

    def test_redis_down_is_503_with_a_time_to_retry(self, client_for, redis_down):
        video, viewer = VideoFactory(), UserFactory()
        batch = [self.event("r1", video)]
        response = client_for(viewer).post("/api/v1/feed/events", {"events": batch}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (503, "events_unavailable")
        assert int(response.headers["Retry-After"]) > 0

    def test_a_failure_between_claiming_and_counting_loses_nothing(self, client_for, monkeypatch):
        from redis import ConnectionError as RedisConnectionError

        video, viewer = VideoFactory(), UserFactory()
        client = client_for(viewer)
        batch = [self.event("h1", video), self.event("h2", video, "complete")]
        apply = store.events_apply

        def redis_drops_the_connection(*args):
            raise RedisConnectionError("connection reset")

        monkeypatch.setattr(store, "events_apply", redis_drops_the_connection)
        assert client.post("/api/v1/feed/events", {"events": batch}, format="json").status_code == 503
        monkeypatch.setattr(store, "events_apply", apply)
        assert client.post("/api/v1/feed/events", {"events": batch}, format="json").data["accepted"] == 2
        services.counters_flush()
        video.refresh_from_db()
        assert (video.impression_count, video.completion_count) == (1, 1)

    @pytest.mark.parametrize("events", [[], "nope", [{"id": "x", "video_id": "a", "type": "impression"}],
                                        [{"id": "x", "video_id": 1, "type": "teleport"}]])  # fmt: skip
    def test_bad_batches_are_400(self, client_for, events):
        response = client_for(UserFactory()).post("/api/v1/feed/events", {"events": events}, format="json")
        assert response.status_code == 400


class TestSteering:
    def test_preferences_shift_the_ranking(self, client_for):
        viewer = UserFactory()
        client = client_for(viewer)
        horror = VideoFactory(prompt="a horror movie in a dark basement", like_count=50, impression_count=100)
        cooking = VideoFactory(prompt="cooking pasta on the moon")
        put = client.put("/api/v1/feed/preferences", {"text": "more cooking, no horror"}, format="json")
        assert put.data["more_topics"] == ["cooking"]
        assert all_pages(client) == [cooking.id, horror.id]
        assert client.get("/api/v1/feed/preferences").data["less_topics"] == ["horror"]


def ids(body):
    return [card["id"] for card in body["results"]]


def same_page(answer: dict, earlier: dict) -> bool:
    """The same cards and a cursor to the same place: a cursor is signed with the time it was made
    (``django.core.signing``), so one answered a second later differs in its signature alone."""

    def place(cursor):
        return cursor and cursor.split(":")[0]

    return answer["results"] == earlier["results"] and place(answer["next"]) == place(earlier["next"])


def test_opening_the_app_again_continues_where_the_viewer_stopped(client_for):
    made = {v.id for v in videos(35)}
    client = client_for(UserFactory())
    first = client.get(FEED).json()
    second = client.get(FEED, {"cursor": first["next"]}).json()  # the viewer scrolled on: the first page is passed
    watched = ids(second)[:3]
    events = [{"id": f"e{video_id}", "video_id": video_id, "type": "impression"} for video_id in watched]
    assert client.post(f"{FEED}/events", {"events": events}, format="json").status_code == 200
    reopened = ids(client.get(FEED).json())
    assert len(reopened) == 10 and set(reopened) <= made
    assert not set(reopened) & (set(ids(first)) | set(watched))
    assert reopened[:7] == ids(second)[3:]  # the rest of the page the viewer stopped on


class TestRetries:
    """A phone's HTTP stack retries a request whose response it lost: the same request gets the same page,
    and only the next cursor moves on."""

    def test_a_minors_retried_page_counts_once_toward_the_daily_limit(self, client_for, settings):
        settings.FEED_TEEN_DAILY_CARDS = 15
        videos(35)
        teen = client_for(UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15)))
        first = teen.get(FEED).json()
        assert same_page(teen.get(FEED).json(), first)  # retried: the same ten cards, counted once (10 of 15)
        second = teen.get(FEED, {"cursor": first["next"]})
        assert second.status_code == 200  # (a second count would have made it 20 of 15)
        assert teen.get(FEED, {"cursor": second.json()["next"]}).status_code == 429

    def test_the_first_page_retried(self, client_for):
        videos(25)
        client = client_for(UserFactory())
        first, retried = client.get(FEED).json(), client.get(FEED).json()
        assert len(ids(first)) == 10 and ids(retried) == ids(first)
        following = client.get(FEED, {"cursor": retried["next"]}).json()
        assert len(ids(following)) == 10 and not set(ids(following)) & set(ids(first))

    def test_a_page_by_cursor_retried(self, client_for):
        made = {v.id for v in videos(25)}
        client = client_for(UserFactory())
        first = client.get(FEED).json()
        second = client.get(FEED, {"cursor": first["next"]}).json()
        assert same_page(client.get(FEED, {"cursor": first["next"]}).json(), second)
        third = client.get(FEED, {"cursor": second["next"]}).json()
        assert same_page(client.get(FEED, {"cursor": second["next"]}).json(), third)
        served = ids(first) + ids(second) + ids(third)
        assert len(served) == len(set(served)) == 25 and set(served) == made
        assert client.get(FEED).json()["results"] == third["results"]  # reopened: the page the viewer is on

    def test_the_following_feed_too(self, client_for):
        viewer = UserFactory()
        for _ in range(12):
            author = UserFactory()
            creator_services.follow_create(follower=viewer, followee=author)
            services.video_fanout(video_id=VideoFactory(owner=author).id)
        client = client_for(viewer)
        first = client.get(FEED, {"kind": "following"}).json()
        assert same_page(client.get(FEED, {"kind": "following"}).json(), first)
        second = client.get(FEED, {"kind": "following", "cursor": first["next"]}).json()
        assert same_page(client.get(FEED, {"kind": "following", "cursor": first["next"]}).json(), second)
        assert len(ids(first)) == 10 and len(ids(second)) == 2


def test_likes_and_blocks_made_while_scrolling_show_on_the_next_pages(client_for, django_capture_on_commit_callbacks):
    author = UserFactory()
    theirs = {v.id for v in videos(6, owner=author)}
    others = {v.id for v in videos(20)}
    viewer = UserFactory()
    client = client_for(viewer)
    first = client.get(FEED).json()
    shown = {card["id"] for card in first["results"]}
    to_like = next(video_id for video_id in sorted(others - shown))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/videos/{to_like}/like")
        creator_services.block_create(blocker=viewer, blocked=author)
    later, cursor = [], first["next"]
    while cursor:
        body = client.get(FEED, {"cursor": cursor}).json()
        later += body["results"]
        cursor = body["next"]
    assert not theirs & {card["id"] for card in later}
    assert {card["id"] for card in later if card["liked"]} == {to_like}


@pytest.mark.parametrize(("visibility", "in_following"), [("private", False), ("followers", True)])
def test_a_post_made_non_public_leaves_for_you_feeds_already_built(
    client_for, django_capture_on_commit_callbacks, visibility, in_following
):
    viewer, author = UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=author)
    post, other = VideoFactory(owner=author), VideoFactory()
    services.feed_build(user=viewer)
    services.video_fanout(video_id=post.id)
    assert store.for_you_ids(viewer.id) == {post.id, other.id}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(author).patch(f"/api/v1/videos/{post.id}", {"visibility": visibility}, format="json")
    assert response.status_code == 200
    assert all_pages(client_for(viewer)) == [other.id]
    assert all_pages(client_for(viewer), kind="following") == ([post.id] if in_following else [])


def test_following_someone_shows_their_earlier_posts(client_for, django_capture_on_commit_callbacks):
    viewer, author, other = UserFactory(), UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=other)
    earlier = VideoFactory(owner=author, published_at=timezone.now() - timedelta(days=3))
    theirs = VideoFactory(owner=other, published_at=timezone.now() - timedelta(days=1))
    services.video_fanout(video_id=theirs.id)
    assert all_pages(client_for(viewer), kind="following") == [theirs.id]
    with django_capture_on_commit_callbacks(execute=True):
        creator_services.follow_create(follower=viewer, followee=author)
    assert all_pages(client_for(viewer), kind="following") == [theirs.id, earlier.id]


def test_a_following_feed_lost_from_redis_is_rebuilt_from_postgresql(client_for):
    viewer, author = UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=author)
    older = VideoFactory(owner=author, published_at=timezone.now() - timedelta(days=2))
    services.video_fanout(video_id=older.id)
    store.redis().delete(store.feed_key(viewer.id, "following"))  # expired, or Redis restarted empty
    newer = VideoFactory(owner=author)
    services.video_fanout(video_id=newer.id)  # fan-out into the missing feed holds only the new post
    private = VideoFactory(owner=author, visibility="private")
    assert private.id not in all_pages(client_for(viewer), kind="following")
    assert all_pages(client_for(viewer), kind="following") == [newer.id, older.id]
