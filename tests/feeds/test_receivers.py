"""Changes that feeds react to still succeed while Redis is down.

Transactional: the receivers run on commit inside the request, as in production.
"""

import pytest

from backend.videos import services as video_services
from tests.factories import UserFactory, VideoFactory

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
