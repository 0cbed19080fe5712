"""creators/selectors: who may find whom, and the follow lists as each viewer gets them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from backend.core.errors import NotFound
from backend.creators import selectors
from backend.videos.services import videos_mark_consent_withdrawn
from tests.factories import BlockFactory, FollowFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


class TestBlocks:
    @pytest.mark.parametrize("who_blocks", ["first", "second"])
    def test_a_block_either_way_is_a_block_between_them(self, who_blocks):
        ana, bea = UserFactory(), UserFactory()
        blocker, blocked = (ana, bea) if who_blocks == "first" else (bea, ana)
        BlockFactory(blocker=blocker, blocked=blocked)
        assert selectors.is_blocked_between(ana.id, bea.id) is True
        assert selectors.is_blocked_between(bea.id, ana.id) is True

    def test_no_block_between_two_people_whatever_the_others_do(self):
        ana, bea, cleo = UserFactory(), UserFactory(), UserFactory()
        BlockFactory(blocker=ana, blocked=cleo)
        BlockFactory(blocker=cleo, blocked=bea)
        assert selectors.is_blocked_between(ana.id, bea.id) is False

    def test_blocked_user_ids_are_everyone_blocked_by_or_blocking_the_user(self):
        user, blocked, blocking, unrelated = UserFactory(), UserFactory(), UserFactory(), UserFactory()
        BlockFactory(blocker=user, blocked=blocked)
        BlockFactory(blocker=blocking, blocked=user)
        BlockFactory(blocker=unrelated, blocked=blocked)
        assert selectors.blocked_user_ids(user.id) == {blocked.id, blocking.id}
        assert selectors.blocked_user_ids(unrelated.id) == {blocked.id}
        assert selectors.blocked_user_ids(UserFactory().id) == set()


class TestAreMutuals:
    def test_mutuals_follow_each_other(self):
        ana, bea = UserFactory(), UserFactory()
        FollowFactory(follower=ana, followee=bea)
        assert selectors.are_mutuals(ana.id, bea.id) is False  # one way only
        FollowFactory(follower=bea, followee=ana)
        assert selectors.are_mutuals(ana.id, bea.id) is True
        assert selectors.are_mutuals(bea.id, ana.id) is True

    def test_following_others_in_common_does_not_make_mutuals(self):
        ana, bea, cleo = UserFactory(), UserFactory(), UserFactory()
        FollowFactory(follower=ana, followee=cleo)
        FollowFactory(follower=cleo, followee=ana)
        FollowFactory(follower=bea, followee=ana)
        assert selectors.are_mutuals(ana.id, bea.id) is False


class TestCreatorGet:
    def test_found_by_handle_whatever_the_case_with_what_the_viewer_needs(self):
        creator, viewer = UserFactory(handle="Maker"), UserFactory()
        FollowFactory(follower=viewer, followee=creator)
        found = selectors.creator_get(viewer=viewer, handle="mAkEr")
        assert found == creator
        assert (found.viewer_follows, found.follows_viewer) == (True, False)

    @pytest.mark.parametrize("viewer", [None, AnonymousUser()], ids=["none", "anonymous"])
    def test_anonymous_viewers_find_creators_too(self, viewer):
        creator = UserFactory()
        assert selectors.creator_get(viewer=viewer, handle=creator.handle) == creator

    @pytest.mark.parametrize("case", ["blocked_by_viewer", "blocking_viewer", "deactivated", "unknown"])
    def test_hidden_creators_look_exactly_like_unknown_handles(self, case):
        viewer = UserFactory()
        creator = UserFactory(is_active=case != "deactivated")
        if case == "blocked_by_viewer":
            BlockFactory(blocker=viewer, blocked=creator)
        if case == "blocking_viewer":
            BlockFactory(blocker=creator, blocked=viewer)
        handle = "nobody-by-this-name" if case == "unknown" else creator.handle
        with pytest.raises(NotFound) as refused:
            selectors.creator_get(viewer=viewer, handle=handle)
        assert str(refused.value) == "No creator with this handle."

    def test_a_block_between_others_does_not_hide_the_creator(self):
        viewer, creator = UserFactory(), UserFactory()
        BlockFactory(blocker=creator, blocked=UserFactory())
        assert selectors.creator_get(viewer=viewer, handle=creator.handle) == creator

    def test_counts_only_the_videos_anyone_may_see(self):
        creator = UserFactory()
        VideoFactory(owner=creator)
        VideoFactory(owner=creator, visibility="followers")
        VideoFactory(owner=creator, visibility="private")
        VideoFactory(owner=creator, status="draft", published_at=None)
        withdrawn = VideoFactory(owner=creator)
        videos_mark_consent_withdrawn(video_ids=[withdrawn.id])
        VideoFactory()  # someone else's
        assert selectors.creator_get(viewer=creator, handle=creator.handle).video_count == 1

    def test_a_suspended_creator_counts_no_videos_nobody_may_see(self):
        creator = UserFactory(suspended_until=timezone.now() + timedelta(days=3))
        VideoFactory(owner=creator)
        assert selectors.creator_get(viewer=None, handle=creator.handle).video_count == 0


class TestCreatorForRelationship:
    def test_found_whatever_the_blocks_so_the_service_decides(self):
        viewer, creator = UserFactory(), UserFactory(handle="Blocked")
        BlockFactory(blocker=viewer, blocked=creator)
        BlockFactory(blocker=creator, blocked=viewer)
        assert selectors.creator_for_relationship(viewer=viewer, handle="blocked") == creator

    @pytest.mark.parametrize("case", ["deactivated", "unknown"])
    def test_deactivated_or_unknown_is_404(self, case):
        creator = UserFactory(is_active=False)
        handle = creator.handle if case == "deactivated" else "nobody-by-this-name"
        with pytest.raises(NotFound):
            selectors.creator_for_relationship(viewer=UserFactory(), handle=handle)


class TestFollowLists:
    def test_followers_leave_out_deactivated_accounts_and_those_blocked_with_the_viewer(self):
        creator, viewer = UserFactory(), UserFactory()
        kept = FollowFactory(followee=creator)
        FollowFactory(followee=creator, follower=UserFactory(is_active=False))
        blocked = FollowFactory(followee=creator)
        blocking = FollowFactory(followee=creator)
        FollowFactory(follower=creator)  # whom the creator follows: not a follower
        BlockFactory(blocker=viewer, blocked=blocked.follower)
        BlockFactory(blocker=blocking.follower, blocked=viewer)
        assert list(selectors.followers_of(viewer=viewer, creator=creator)) == [kept]
        assert set(selectors.followers_of(viewer=None, creator=creator)) == {kept, blocked, blocking}

    def test_following_leaves_out_deactivated_accounts_and_those_blocked_with_the_viewer(self):
        creator, viewer = UserFactory(), UserFactory()
        kept = FollowFactory(follower=creator)
        FollowFactory(follower=creator, followee=UserFactory(is_active=False))
        blocked = FollowFactory(follower=creator)
        FollowFactory(followee=creator)  # a follower of the creator: not followed by them
        BlockFactory(blocker=blocked.followee, blocked=viewer)
        assert list(selectors.following_of(viewer=viewer, creator=creator)) == [kept]
        assert set(selectors.following_of(viewer=AnonymousUser(), creator=creator)) == {kept, blocked}

    def test_a_list_costs_the_same_queries_for_2_followers_or_20(self, django_assert_num_queries):
        creator, viewer = UserFactory(), UserFactory()
        for count in (2, 20):
            FollowFactory.create_batch(count - creator.follower_edges.count(), followee=creator)
            with django_assert_num_queries(2):  # the viewer's blocks, then the edges with their followers
                handles = [edge.follower.handle for edge in selectors.followers_of(viewer=viewer, creator=creator)]
            assert len(handles) == count
