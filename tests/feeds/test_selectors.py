"""feeds/selectors: cards as one viewer gets them, the viewer's blocks and likes, and the PostgreSQL page.

Serving a page (a write: it records what was served) is ``feeds.services.feed_page_serve``, tested through the
API in test_api.py.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.creators import services as creator_services
from backend.videos import services as video_services
from feeds import selectors, services, store
from tests.factories import BlockFactory, FollowFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def card_ids(page: dict[int, bytes]) -> list[int]:
    return [json.loads(card)["id"] for card in page.values()]


def minutes_ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


class TestCardsHydrate:
    def test_cards_in_the_order_asked_in_json_with_the_viewers_likes(self):
        liked, other = VideoFactory(), VideoFactory()
        viewer = UserFactory()
        video_services.like_create(video=liked, user=viewer)
        page = selectors.cards_hydrate(viewer, [other.id, liked.id], kind=selectors.FOR_YOU)
        assert list(page) == card_ids(page) == [other.id, liked.id]
        assert [json.loads(card)["liked"] for card in page.values()] == [False, True]

    @pytest.mark.parametrize(
        "case", ["blocked_author", "blocking_author", "hidden", "private", "followers_only", "draft", "unsafe_for_teen"]
    )
    def test_what_this_viewer_may_not_be_shown_is_left_out(self, case):
        viewer = UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15)) if case == "unsafe_for_teen" \
            else UserFactory()  # fmt: skip
        fields = {"private": {"visibility": "private"}, "followers_only": {"visibility": "followers"},
                  "draft": {"status": "draft", "published_at": None},
                  "unsafe_for_teen": {"safe_for_teens": False}}.get(case, {})  # fmt: skip
        kept, target = VideoFactory(), VideoFactory(**fields)
        if case == "blocked_author":
            BlockFactory(blocker=viewer, blocked=target.owner)
        if case == "blocking_author":
            BlockFactory(blocker=target.owner, blocked=viewer)
        if case == "hidden":
            store.hide_videos([target.id])
        page = selectors.cards_hydrate(viewer, [kept.id, target.id], kind=selectors.FOR_YOU)
        assert list(page) == [kept.id]

    def test_followers_only_posts_are_served_in_the_following_feed(self):
        viewer, author = UserFactory(), UserFactory()
        FollowFactory(follower=viewer, followee=author)
        post = VideoFactory(owner=author, visibility="followers")
        assert list(selectors.cards_hydrate(viewer, [post.id], kind=selectors.FOLLOWING)) == [post.id]
        assert list(selectors.cards_hydrate(viewer, [post.id], kind=selectors.FOR_YOU)) == []

    def test_cards_not_cached_cost_the_same_queries_for_2_videos_or_20(self, django_assert_num_queries):
        viewer = UserFactory()
        for count in (2, 20):
            ids = [VideoFactory().id for _ in range(count)]
            # the videos with their owners, their embedded sources, their cameos, then the viewer's blocks and likes
            with django_assert_num_queries(4):
                assert list(selectors.cards_hydrate(viewer, ids, kind=selectors.FOR_YOU)) == ids

    def test_built_cards_are_cached_so_the_next_viewer_costs_one_query(self, django_assert_num_queries):
        ids = [VideoFactory().id for _ in range(3)]
        first = selectors.cards_hydrate(UserFactory(), ids, kind=selectors.FOR_YOU)
        assert set(store.cards_get(ids)) == set(ids)
        next_viewer = UserFactory()
        with django_assert_num_queries(1):  # the viewer's blocks and likes only
            assert selectors.cards_hydrate(next_viewer, ids, kind=selectors.FOR_YOU) == first

    def test_with_the_viewers_blocks_and_likes_given_no_query_is_made(self, django_assert_num_queries):
        liked, blocked = VideoFactory(), VideoFactory()
        selectors.cards_hydrate(UserFactory(), [liked.id, blocked.id], kind=selectors.FOR_YOU)  # caches the cards
        viewer = UserFactory()
        with django_assert_num_queries(0):
            page = selectors.cards_hydrate(viewer, [liked.id, blocked.id], kind=selectors.FOR_YOU,
                                           context=({blocked.owner_id}, {liked.id}))  # fmt: skip
        assert list(page) == [liked.id] and json.loads(page[liked.id])["liked"] is True

    def test_without_the_cache_nothing_is_cached_and_hidden_marks_are_not_read(self):
        video = VideoFactory()
        store.hide_videos([video.id])  # a stale mark: PostgreSQL decides when the cache is not used
        page = selectors.cards_hydrate(UserFactory(), [video.id], kind=selectors.FOR_YOU, use_cache=False)
        assert list(page) == [video.id]
        assert store.cards_get([video.id]) == {}


class TestViewerSets:
    def test_sets_missing_from_redis_are_loaded_from_postgresql_and_kept_there(self, django_assert_num_queries):
        viewer, blocked = UserFactory(), UserFactory()
        liked = VideoFactory()
        VideoFactory()  # in the feed, not liked
        video_services.like_create(video=liked, user=viewer)
        BlockFactory(blocker=viewer, blocked=blocked)
        services.feed_build(user=viewer)
        taken = store.for_you_take(viewer.id, after=None, limit=10)
        assert (taken.blocked, taken.liked) == (None, None)
        assert selectors.viewer_sets(viewer, taken) == ({blocked.id}, {liked.id})
        again = store.for_you_take(viewer.id, after=None, limit=10)
        assert again.blocked == {blocked.id} and again.liked is not None
        with django_assert_num_queries(0):
            assert selectors.viewer_sets(viewer, again)[0] == {blocked.id}

    def test_blocks_changed_since_the_set_was_loaded_are_read_again(self):
        viewer, earlier, later = UserFactory(), UserFactory(), UserFactory()
        creator_services.block_create(blocker=viewer, blocked=earlier)
        viewer.refresh_from_db()
        version = f"{viewer.blocks_changed_at.timestamp():.6f}"
        taken = store.Taken(video_ids=[], position=0.0, remaining=0, refill_claimed=False, liked=set(),
                            blocked={earlier.id}, blocked_version=version)  # fmt: skip
        assert selectors.viewer_sets(viewer, taken)[0] == {earlier.id}
        creator_services.block_create(blocker=later, blocked=viewer)
        viewer.refresh_from_db()
        assert selectors.viewer_sets(viewer, taken)[0] == {earlier.id, later.id}


class TestFeedPageFromDatabase:
    def test_for_you_is_the_newest_public_posts_of_others_page_by_page(self, settings):
        settings.FEED_PAGE_SIZE = 3
        viewer, followed = UserFactory(), UserFactory()
        FollowFactory(follower=viewer, followee=followed)
        posts = [VideoFactory(published_at=minutes_ago(minutes)) for minutes in range(5)]
        VideoFactory(owner=viewer)
        VideoFactory(visibility="private")
        VideoFactory(owner=followed, visibility="followers")
        first, position = selectors.feed_page_from_database(viewer, selectors.FOR_YOU, None)
        second, after_second = selectors.feed_page_from_database(viewer, selectors.FOR_YOU, position)
        assert (card_ids(first), card_ids(second)) == ([p.id for p in posts[:3]], [p.id for p in posts[3:]])
        assert selectors.feed_page_from_database(viewer, selectors.FOR_YOU, after_second) == ({}, None)

    def test_following_is_the_newest_posts_of_followed_authors_followers_only_included(self):
        viewer, author = UserFactory(), UserFactory()
        FollowFactory(follower=viewer, followee=author)
        public = VideoFactory(owner=author, published_at=minutes_ago(5))
        for_followers = VideoFactory(owner=author)
        VideoFactory()  # a stranger's
        VideoFactory(owner=author, visibility="private")
        page, _ = selectors.feed_page_from_database(viewer, selectors.FOLLOWING, None)
        assert card_ids(page) == [for_followers.id, public.id]

    def test_blocked_authors_are_left_out(self):
        viewer = UserFactory()
        kept, blocked = VideoFactory(), VideoFactory()
        BlockFactory(blocker=blocked.owner, blocked=viewer)
        page, _ = selectors.feed_page_from_database(viewer, selectors.FOR_YOU, None)
        assert card_ids(page) == [kept.id]

    def test_every_page_costs_the_same_queries(self, settings, django_assert_num_queries):
        settings.FEED_PAGE_SIZE = 3
        viewer = UserFactory()
        for minutes in range(9):
            VideoFactory(published_at=minutes_ago(minutes))
        position = None
        for _ in range(3):
            # the viewer's blocks, the page of ids, then its cards (videos, embedded sources, cameos) and likes
            with django_assert_num_queries(6):
                page, position = selectors.feed_page_from_database(viewer, selectors.FOR_YOU, position)
            assert len(page) == 3
