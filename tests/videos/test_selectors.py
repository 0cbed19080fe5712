"""videos/selectors and the one visibility rule (``Video.objects.visible_to`` and ``Video.is_visible_to``).

Every status and visibility against every kind of viewer; the same matrix through the API is in test_api.py.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from backend.core.errors import NotFound
from backend.creators import services as creator_services
from backend.videos import selectors, services
from backend.videos.models import Video
from tests.factories import CommentFactory, HashtagFactory, UserFactory, VideoFactory, VideoHashtagFactory
from tests.videos.viewers import CASES, VIEWERS, make_viewer, video_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("viewer_kind", VIEWERS)
@pytest.mark.parametrize(("state", "allowed"), CASES)
def test_visibility_matrix(viewer_kind, state, allowed):
    video = video_in(*state)
    viewer = make_viewer(viewer_kind, video)
    assert Video.objects.visible_to(viewer).filter(id=video.id).exists() is (viewer_kind in allowed)
    assert video.is_visible_to(viewer) is (viewer_kind in allowed)


class TestVideoVisibleTo:
    def test_a_video_the_viewer_may_see_is_returned_with_its_owner(self, django_assert_num_queries):
        video = VideoFactory()
        viewer = UserFactory()
        with django_assert_num_queries(1):  # anonymous: the video, its owner joined
            assert selectors.video_visible_to(viewer=None, video_id=video.id).owner.handle == video.owner.handle
        with django_assert_num_queries(2):  # signed in: who is blocked either way is read first
            assert selectors.video_visible_to(viewer=viewer, video_id=video.id).owner.handle == video.owner.handle

    @pytest.mark.parametrize("case", ["private", "missing", "blocked_by_owner"])
    def test_one_the_viewer_may_not_see_looks_exactly_like_one_that_does_not_exist(self, case):
        video = VideoFactory(visibility="private" if case == "private" else "public")
        viewer = UserFactory()
        if case == "blocked_by_owner":
            creator_services.block_create(blocker=video.owner, blocked=viewer)
        video_id = video.id + 1000 if case == "missing" else video.id
        with pytest.raises(NotFound) as refused:
            selectors.video_visible_to(viewer=viewer, video_id=video_id)
        assert str(refused.value) == "No such video."

    def test_a_suspended_creators_video_is_hidden_from_others_but_not_from_them(self):
        video = VideoFactory(owner=UserFactory(suspended_until=timezone.now() + timedelta(days=3)))
        with pytest.raises(NotFound):
            selectors.video_visible_to(viewer=UserFactory(), video_id=video.id)
        assert selectors.video_visible_to(viewer=video.owner, video_id=video.id) == video

    def test_teens_do_not_get_videos_marked_unsafe_for_them(self):
        video = VideoFactory(safe_for_teens=False)
        teen = UserFactory(birth_date=date(date.today().year - 15, 1, 1))
        adult = UserFactory(birth_date=date(1990, 1, 1))
        with pytest.raises(NotFound):
            selectors.video_visible_to(viewer=teen, video_id=video.id)
        assert selectors.video_visible_to(viewer=adult, video_id=video.id) == video


class TestCreatorVideos:
    def test_published_videos_the_viewer_may_see_newest_first(self):
        owner = UserFactory()
        old = VideoFactory(owner=owner, published_at=timezone.now() - timedelta(days=2))
        new = VideoFactory(owner=owner)
        yesterday = timezone.now() - timedelta(days=1)
        for_followers = VideoFactory(owner=owner, visibility="followers", published_at=yesterday)
        VideoFactory(owner=owner, status="draft", published_at=None)
        VideoFactory()  # someone else's
        fan = UserFactory()
        creator_services.follow_create(follower=fan, followee=owner)
        assert list(selectors.creator_videos(viewer=None, owner=owner)) == [new, old]
        assert list(selectors.creator_videos(viewer=fan, owner=owner)) == [new, for_followers, old]

    def test_the_owner_does_not_see_their_drafts_here(self):
        owner = UserFactory()
        published = VideoFactory(owner=owner)
        VideoFactory(owner=owner, status="draft", published_at=None)
        assert list(selectors.creator_videos(viewer=owner, owner=owner)) == [published]


class TestLikedBy:
    def test_only_the_viewers_likes_among_the_videos_asked_about(self):
        liked, not_liked, liked_elsewhere = VideoFactory(), VideoFactory(), VideoFactory()
        viewer = UserFactory()
        services.like_create(video=liked, user=viewer)
        services.like_create(video=liked_elsewhere, user=viewer)
        services.like_create(video=not_liked, user=UserFactory())
        assert selectors.liked_by(viewer=viewer, video_ids=[liked.id, not_liked.id]) == {liked.id}

    def test_anonymous_or_no_videos_asks_nothing(self, django_assert_num_queries):
        video = VideoFactory()
        with django_assert_num_queries(0):
            assert selectors.liked_by(viewer=None, video_ids=[video.id]) == set()
            assert selectors.liked_by(viewer=UserFactory.build(), video_ids=[]) == set()


class TestCommentsOf:
    def test_comments_by_users_blocked_either_way_are_left_out(self):
        video = VideoFactory()
        viewer, blocked, blocking = UserFactory(), UserFactory(), UserFactory()
        kept = CommentFactory(video=video)
        CommentFactory(video=video, author=blocked)
        CommentFactory(video=video, author=blocking)
        CommentFactory()  # on another video
        creator_services.block_create(blocker=viewer, blocked=blocked)
        creator_services.block_create(blocker=blocking, blocked=viewer)
        assert list(selectors.comments_of(viewer=viewer, video=video)) == [kept]
        assert selectors.comments_of(viewer=None, video=video).count() == 3


class TestHashtags:
    def test_a_hashtag_is_found_whatever_the_case_and_with_or_without_its_hash(self):
        hashtag = HashtagFactory(name="skatecat")
        assert selectors.hashtag_get(name="#SkateCat") == hashtag
        with pytest.raises(NotFound):
            selectors.hashtag_get(name="nothing")

    def test_entries_are_the_published_videos_the_viewer_may_see(self):
        hashtag = HashtagFactory(name="skate")
        shown = VideoHashtagFactory(hashtag=hashtag).video
        VideoHashtagFactory(hashtag=hashtag, video=VideoFactory(visibility="private"))
        VideoHashtagFactory(hashtag=hashtag, video=VideoFactory(status="draft", published_at=None))
        VideoHashtagFactory(video=VideoFactory())  # another hashtag
        assert list(selectors.hashtag_entries(viewer=UserFactory(), hashtag=hashtag)) == [shown]
