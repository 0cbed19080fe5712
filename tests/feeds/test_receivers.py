"""Changes that feeds react to still succeed while Redis is down.

Transactional: the receivers run on commit inside the request, as in production.
"""

import pytest
from django.db import transaction

from backend.core.models import OutboxMessage
from backend.videos import services as video_services
from feeds import services, store, tasks
from feeds.models import RedisRepair
from tests.factories import UserFactory, VideoFactory
from tests.feeds.conftest import redis_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def test_posting_liking_and_following_work_while_redis_is_down(client_for, redis_down):
    author, viewer = UserFactory(), UserFactory()
    draft = VideoFactory(owner=author, status="draft", published_at=None)
    post = VideoFactory(owner=author)
    author_client, viewer_client = client_for(author), client_for(viewer)

    assert author_client.post(f"/api/v1/videos/{draft.id}/publish", {}, format="json").status_code == 200
    assert author_client.patch(f"/api/v1/videos/{post.id}", {"caption": "new"}, format="json").status_code == 200
    assert viewer_client.post(f"/api/v1/videos/{post.id}/like").status_code in (200, 201)
    assert viewer_client.post(f"/api/v1/creators/{author.handle}/follow").status_code in (200, 201)
    assert viewer_client.delete(f"/api/v1/creators/{author.handle}/follow").status_code == 200
    assert viewer_client.post(f"/api/v1/creators/{author.handle}/block").status_code in (200, 201)

    post.refresh_from_db()
    assert (post.caption, post.like_count) == ("new", 1)


def test_a_video_is_removed_and_restored_while_redis_is_down(client_for, redis_down):
    moderator, post = UserFactory(is_staff=True), VideoFactory()
    video_services.video_remove(video=post, by=moderator, reason="spam")
    video_services.video_restore(video=post, by=moderator, reason="appeal")
    post.refresh_from_db()
    assert post.status == "published"
    # Served from PostgreSQL meanwhile: the restored post is back.
    assert [card["id"] for card in client_for(UserFactory()).get("/api/v1/feed").json()["results"]] == [post.id]


def test_a_like_redis_missed_is_repaired_within_seconds_of_redis_coming_back(client_for, settings):
    settings.FEED_SHARED_FIRST_PAGE = False  # a personal first page (a shared one leaves the sets to the worker)
    post, viewer = VideoFactory(), UserFactory()
    viewer_client = client_for(viewer)
    # Given the viewer's liked set loaded in Redis by a feed page
    assert [(card["id"], card["liked"]) for card in viewer_client.get("/api/v1/feed").json()["results"]] == [
        (post.id, False)
    ]
    liked_key = store.user_key(viewer.id, "liked")
    assert store.redis().exists(liked_key)
    # When Redis is away while the viewer likes the post
    with redis_unreachable(settings):
        assert viewer_client.post(f"/api/v1/videos/{post.id}/like").status_code in (200, 201)
    # Then the miss is recorded, and Redis's set is stale (the feed would say liked=false for a day)
    assert list(RedisRepair.objects.values_list("kind", "target_id")) == [("liked", viewer.id)]
    assert not store.redis().sismember(liked_key, str(post.id))
    # And beat's repair, once Redis is back, drops the stale set: the next read loads it from PostgreSQL
    tasks.redis_repairs_apply()
    tasks.redis_repairs_apply()  # twice: harmless
    assert not RedisRepair.objects.exists()
    assert not store.redis().exists(liked_key)


def test_a_repair_waits_while_redis_is_still_away(settings):
    services.redis_repairs_record(kind=RedisRepair.Kind.HIDDEN, target_ids=[1, 2])
    services.redis_repairs_record(kind=RedisRepair.Kind.HIDDEN, target_ids=[2])  # recorded once
    with redis_unreachable(settings):
        assert services.redis_repairs_apply() == 0
    assert RedisRepair.objects.count() == 2
    assert services.redis_repairs_apply() == 2
    assert store.redis().get(store.card_key(1)) is not None  # the tombstone is written


def test_the_fan_out_message_is_written_with_the_publish_and_rolled_back_with_it():
    draft = VideoFactory(status="draft", published_at=None)
    fan_out = OutboxMessage.objects.filter(task=tasks.video_fanout.name, kwargs={"video_id": draft.id})

    with pytest.raises(RuntimeError), transaction.atomic():
        video_services.video_publish(video=draft, by=draft.owner)
        assert fan_out.exists()
        raise RuntimeError("the publish failed after all")
    assert not fan_out.exists()

    with transaction.atomic():
        video_services.video_publish(video=draft, by=draft.owner)
        # Before the commit: a process that dies right after it leaves the message for the relay.
        assert fan_out.exists()


def test_a_removal_writes_its_feed_repair_with_it_so_beat_hides_the_video_even_if_the_hooks_never_ran():
    post, moderator = VideoFactory(), UserFactory(is_staff=True)
    repair = RedisRepair.objects.filter(kind=RedisRepair.Kind.HIDDEN, target_id=post.id)

    with pytest.raises(RuntimeError), transaction.atomic():
        video_services.video_remove(video=post, by=moderator, reason="spam")
        assert repair.exists()
        raise RuntimeError("the removal failed after all")
    assert not repair.exists()

    with transaction.atomic():
        video_services.video_remove(video=post, by=moderator, reason="spam")
    assert repair.exists()  # beat applies it within seconds, whether or not the receivers ran
    tasks.redis_repairs_apply()
    assert not repair.exists()
    assert store.cards_and_hidden([post.id])[1] == {post.id}
