"""Moderation reads: the blocked-terms check, and what a reporter may report (what they may see)."""

import pytest

from backend.core.errors import NotFound
from backend.creators import services as creator_services
from backend.moderation import selectors
from tests.factories import (
    AppearanceFactory,
    BlockedTermFactory,
    CameoFactory,
    CommentFactory,
    UserFactory,
    VideoFactory,
)

pytestmark = pytest.mark.django_db


class TestPromptBlocklistCheck:
    def test_an_active_blocked_term_is_refused_in_any_case_and_named(self):
        BlockedTermFactory(term="gore")
        with pytest.raises(selectors.PromptRefused) as caught:
            selectors.prompt_blocklist_check(text="Lots of GORE please", field="caption")
        assert (caught.value.detail.code, str(caught.value.detail)) == (
            "prompt_blocked",
            "The caption uses a blocked term.",
        )
        assert caught.value.details["term"] == "gore"

    def test_an_inactive_term_and_a_clean_text_pass(self):
        BlockedTermFactory(term="splatter", is_active=False)
        selectors.prompt_blocklist_check(text="splatter paint on a canvas")
        selectors.prompt_blocklist_check(text="a corgi surfing")


def hidden_like_nothing(target_type, target_id, reporter):
    """The refusal for something the reporter may not see, and for an id that does not exist: the same."""
    with pytest.raises(NotFound) as hidden:
        selectors.report_target(target_type=target_type, target_id=target_id, reporter=reporter)
    with pytest.raises(NotFound) as missing:
        selectors.report_target(target_type=target_type, target_id=999_999_999, reporter=reporter)
    return (hidden.value.detail, hidden.value.detail.code) == (missing.value.detail, missing.value.detail.code)


class TestReportTarget:
    def test_a_video_the_reporter_may_see_and_a_hidden_one(self):
        reporter = UserFactory()
        post, private = VideoFactory(), VideoFactory(visibility="private")
        assert selectors.report_target(target_type="video", target_id=post.id, reporter=reporter) == post
        assert hidden_like_nothing("video", private.id, reporter)
        own = VideoFactory(owner=reporter, visibility="private")
        assert selectors.report_target(target_type="video", target_id=own.id, reporter=reporter) == own

    def test_moderators_reach_everything(self):
        private = VideoFactory(visibility="private")
        assert selectors.report_target(target_type="video", target_id=private.id) == private

    def test_a_comment_is_reportable_where_its_video_is_seen(self):
        reporter = UserFactory()
        seen, unseen = CommentFactory(), CommentFactory(video=VideoFactory(visibility="private"))
        assert selectors.report_target(target_type="comment", target_id=seen.id, reporter=reporter) == seen
        assert hidden_like_nothing("comment", unseen.id, reporter)

    def test_a_creator_who_blocked_the_reporter_or_was_blocked_is_not_reportable(self):
        reporter, blocker, blocked, other = UserFactory(), UserFactory(), UserFactory(), UserFactory()
        creator_services.block_create(blocker=blocker, blocked=reporter)
        creator_services.block_create(blocker=reporter, blocked=blocked)
        assert selectors.report_target(target_type="creator", target_id=other.id, reporter=reporter) == other
        assert hidden_like_nothing("creator", blocker.id, reporter)
        assert hidden_like_nothing("creator", blocked.id, reporter)

    def test_a_cameo_is_reportable_by_its_owner_and_where_it_is_seen(self):
        reporter = UserFactory()
        own, seen, unseen = CameoFactory(owner=reporter), CameoFactory(), CameoFactory()
        AppearanceFactory(cameo=seen)
        AppearanceFactory(cameo=unseen, video=VideoFactory(visibility="private"))
        for cameo in (own, seen):
            assert selectors.report_target(target_type="cameo", target_id=cameo.id, reporter=reporter) == cameo
        assert hidden_like_nothing("cameo", unseen.id, reporter)
        deleted = CameoFactory(owner=reporter, status="deleted")
        assert hidden_like_nothing("cameo", deleted.id, reporter)
