"""Candidate sources: each answers its one question, and nothing else."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.creators import services as creator_services
from backend.videos import services as video_services
from feeds import sources, store, tasks
from tests.factories import AppearanceFactory, HashtagFactory, UserFactory, VideoFactory, VideoHashtagFactory

pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_following_is_recent_posts_of_followed_authors():
    viewer, followed, stranger = UserFactory(), UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=followed)
    recent, older = VideoFactory(owner=followed), VideoFactory(owner=followed, published_at=days_ago(2))
    VideoFactory(owner=followed, published_at=days_ago(30))  # outside the candidate window
    VideoFactory(owner=stranger)
    assert sources.following(viewer.id) == [recent.id, older.id]


def test_remixes_of_liked_are_the_other_members_of_those_lineages():
    viewer = UserFactory()
    root = VideoFactory()
    liked = VideoFactory(parent=root, root_id=root.id)
    sibling = VideoFactory(parent=root, root_id=root.id)
    VideoFactory()  # another lineage
    video_services.like_create(video=liked, user=viewer)
    assert set(sources.remixes_of_liked(viewer.id)) == {root.id, liked.id, sibling.id}


def test_cameos_of_mutuals_only():
    viewer, mutual, fan_of_mine = UserFactory(), UserFactory(), UserFactory()
    creator_services.follow_create(follower=viewer, followee=mutual)
    creator_services.follow_create(follower=mutual, followee=viewer)
    creator_services.follow_create(follower=fan_of_mine, followee=viewer)
    starring_mutual, starring_fan = VideoFactory(), VideoFactory()
    AppearanceFactory(cameo__owner=mutual, video=starring_mutual)
    AppearanceFactory(cameo__owner=fan_of_mine, video=starring_fan)
    assert sources.cameos_of_mutuals(viewer.id) == [starring_mutual.id]


def test_challenges_the_viewer_took_part_in():
    viewer = UserFactory()
    challenge = HashtagFactory(name="moonwalk", is_challenge=True)
    plain = HashtagFactory(name="cats")
    mine, entry, other_tag = VideoFactory(owner=viewer), VideoFactory(), VideoFactory()
    for hashtag, video in ((challenge, mine), (challenge, entry), (plain, mine), (plain, other_tag)):
        VideoHashtagFactory(hashtag=hashtag, video=video)
    assert sources.challenges(viewer.id) == [entry.id]


def test_fresh_is_new_videos_few_have_seen():
    new = VideoFactory(impression_count=3)
    VideoFactory(impression_count=5000)  # already seen widely
    VideoFactory(impression_count=0, published_at=days_ago(3))  # not new any more
    assert sources.fresh(UserFactory().id) == [new.id]


def test_trending_is_engagement_velocity_recomputed_by_the_task():
    rising = VideoFactory(like_count=40, impression_count=100, published_at=timezone.now() - timedelta(hours=2))
    aging = VideoFactory(like_count=40, impression_count=100, published_at=days_ago(5))
    dull = VideoFactory(like_count=1, impression_count=100, published_at=timezone.now() - timedelta(hours=2))
    VideoFactory(like_count=90, impression_count=100, visibility="private")
    tasks.trending_recompute()
    tasks.trending_recompute()  # idempotent: the same ranking, no duplicates
    assert store.trending_ids(10) == [rising.id, aging.id, dull.id]
    assert sources.trending(UserFactory().id) == [rising.id, aging.id, dull.id]


def test_trending_missing_from_redis_is_computed_once_and_kept():
    hit = VideoFactory(like_count=40, impression_count=100)
    assert store.trending_ids(10) == []  # beat has not run yet, or Redis restarted empty
    assert sources.trending(UserFactory().id) == [hit.id]
    assert store.trending_ids(10) == [hit.id]
