import threading

import pytest
from django.db import connection

from backend.core.errors import Conflict, DomainError, NotFound
from backend.videos import lineage, services
from backend.videos.models import Like, Video
from media.services import RenderRefused, remix_request
from tests.factories import AppearanceFactory, CameoFactory, UserFactory, VideoFactory


def remix_of(parent, owner=None, **fields):
    video = services.video_create_draft(owner=owner or UserFactory(), prompt="remix", parent=parent)
    if fields.get("publish", True):
        services.video_publish(video=video, by=video.owner)
    return video


@pytest.mark.django_db
class TestPublish:
    def test_publish_parses_hashtags_and_counts_remixes_on_the_parent(self):
        parent = services.video_create_draft(owner=UserFactory(), prompt="original")
        services.video_publish(video=parent, by=parent.owner, caption="join the #SkateCat #challenge #skatecat")
        child = services.video_create_draft(owner=UserFactory(), prompt="again", parent=parent)
        services.video_publish(video=child, by=child.owner)
        parent.refresh_from_db()
        assert parent.remix_count == 1
        assert sorted(parent.hashtag_links.values_list("hashtag__name", flat=True)) == ["SkateCat", "challenge"]
        assert services.video_publish(video=child, by=child.owner).status == "published"  # idempotent

    def test_only_the_owner_publishes(self):
        video = services.video_create_draft(owner=UserFactory(), prompt="x")
        with pytest.raises(NotFound):
            services.video_publish(video=video, by=UserFactory())

    def test_publish_rechecks_consent_for_every_cameo(self):
        creator = UserFactory()
        cameo = CameoFactory(audience="everyone")
        video = services.video_create_draft(owner=creator, prompt="with a friend")
        AppearanceFactory(cameo=cameo, video=video)
        cameo.audience = "only_me"
        cameo.save()
        with pytest.raises(DomainError) as excinfo:
            services.video_publish(video=video, by=creator)
        assert excinfo.value.detail.code == "cameo_not_allowed"
        assert excinfo.value.details["cameos"] == [{"cameo_id": cameo.id, "reason": "only_me"}]
        assert Video.objects.get(id=video.id).status == "draft"

    def test_a_removed_video_cannot_be_published(self):
        video = services.video_create_draft(owner=UserFactory(), prompt="x")
        services.video_remove(video=video, by=video.owner, reason="oops")
        with pytest.raises(Conflict):
            services.video_publish(video=video, by=video.owner)


@pytest.mark.django_db
class TestLineage:
    def test_ancestors_children_subtree_counts_and_depth(self, django_assert_num_queries):
        root = VideoFactory()
        services.video_create_draft(owner=root.owner, prompt="x")  # unrelated
        chain = [root]
        for _ in range(5):
            chain.append(remix_of(chain[-1]))
        siblings = [remix_of(root) for _ in range(3)]
        leaf = chain[-1]
        with django_assert_num_queries(1):
            assert [v.id for v in lineage.ancestors(video=leaf)] == [v.id for v in chain[:-1]]
        with django_assert_num_queries(1):
            assert {v.id for v in lineage.direct_remixes(video=root)} == {chain[1].id, *(s.id for s in siblings)}
        with django_assert_num_queries(1):
            assert lineage.descendant_count(video=root) == 8
        assert (leaf.depth, leaf.root_id) == (5, root.id)
        first = lineage.subtree_page(video=root, after=None, limit=3)
        rest = lineage.subtree_page(video=root, after=(first[-1].depth, first[-1].descendant_id), limit=10)
        ids = [row.descendant_id for row in first + rest]
        assert len(ids) == len(set(ids)) == 8
        assert [row.depth for row in first + rest] == sorted(row.depth for row in first + rest)

    def test_a_removed_parent_stays_as_a_tombstone_and_its_remixes_stay_reachable(self, client_for, api_client):
        root = VideoFactory()
        middle = remix_of(root)
        leaf = remix_of(middle)
        services.video_remove(video=middle, by=middle.owner, reason="gone")
        assert api_client.get(f"/api/v1/videos/{middle.id}").status_code == 404
        body = api_client.get(f"/api/v1/videos/{leaf.id}/lineage").data
        assert [(node["id"], node["status"], node["owner_handle"]) for node in body["ancestors"]] == [
            (root.id, "available", root.owner.handle),
            (middle.id, "removed", middle.owner.handle),
        ]
        assert body["ancestors"][1]["caption"] is None
        tomb = api_client.get(f"/api/v1/videos/{middle.id}/lineage").data
        assert ([node["id"] for node in tomb["results"]], tomb["next"]) == ([leaf.id], None)
        subtree = api_client.get(f"/api/v1/videos/{root.id}/remixes").data
        assert [node["id"] for node in subtree["results"]] == [middle.id, leaf.id]
        assert subtree["descendant_count"] == 2

    def test_subtree_pages_with_a_cursor(self, api_client):
        root = VideoFactory()
        children = [remix_of(root) for _ in range(25)]
        first = api_client.get(f"/api/v1/videos/{root.id}/remixes").data
        second = api_client.get(f"/api/v1/videos/{root.id}/remixes", {"cursor": first["next"]}).data
        assert second["next"] is None
        assert [n["id"] for n in first["results"] + second["results"]] == [c.id for c in children]
        tampered = api_client.get(f"/api/v1/videos/{root.id}/remixes", {"cursor": first["next"][:-2] + "xx"})
        assert (tampered.status_code, tampered.data["error"]["code"]) == (400, "invalid_cursor")


@pytest.mark.django_db
class TestRemixRules:
    def test_remixer_needs_their_own_permission_for_kept_cameos(self):
        friend_cameo = CameoFactory(audience="mutuals")
        source = VideoFactory(owner=friend_cameo.owner)
        AppearanceFactory(cameo=friend_cameo, video=source)
        remixer = UserFactory()
        with pytest.raises(RenderRefused) as excinfo:
            remix_request(requester=remixer, idempotency_key="r1", source=source, prompt="again", duration_s=5)
        assert excinfo.value.detail.code == "cameo_not_allowed"
        # The source's frames carry the likeness: there is no way to leave its cameo out.
        with pytest.raises(TypeError):
            remix_request(requester=remixer, idempotency_key="r2", source=source, prompt="again", duration_s=5,
                          keep_cameo_ids=[])  # fmt: skip

    @pytest.mark.parametrize(
        ("fields", "code"),
        [({"remix_allowed": False}, "remix_disabled"), ({"visibility": "private"}, "not_found"),
         ({"status": "removed"}, "not_found")],
    )  # fmt: skip
    def test_disabled_private_or_removed_sources_are_refused(self, fields, code):
        """What the remixer may not see does not exist for them; what they see may still be closed to remixes."""
        source = VideoFactory(**fields)
        with pytest.raises(DomainError) as excinfo:
            remix_request(requester=UserFactory(), idempotency_key="k", source=source, prompt="x", duration_s=5)
        assert excinfo.value.detail.code == code

    def test_remix_through_the_api(self, client_for):
        source = VideoFactory()
        client = client_for(UserFactory())
        response = client.post(f"/api/v1/videos/{source.id}/remix", {"prompt": "but underwater", "duration_s": 5},
                               format="json", HTTP_IDEMPOTENCY_KEY="remix-1")  # fmt: skip
        assert (response.status_code, response.data["kind"], response.data["source_video_id"]) == (
            201,
            "remix",
            source.id,
        )
        private = VideoFactory(visibility="private")
        assert client.post(f"/api/v1/videos/{private.id}/remix", {"prompt": "x", "duration_s": 5}, format="json",
                           HTTP_IDEMPOTENCY_KEY="remix-2").status_code == 404  # fmt: skip


@pytest.mark.django_db
class TestReactions:
    def test_like_is_idempotent(self):
        video, fan = VideoFactory(), UserFactory()
        assert services.like_create(video=video, user=fan) is True
        assert services.like_create(video=video, user=fan) is False
        video.refresh_from_db()
        assert video.like_count == 1
        services.like_delete(video=video, user=fan)
        services.like_delete(video=video, user=fan)
        video.refresh_from_db()
        assert video.like_count == 0

    def test_comments_delete_by_author_or_video_owner_only(self, client_for):
        video = VideoFactory()
        author, stranger = UserFactory(), UserFactory()
        comment = client_for(author).post(f"/api/v1/videos/{video.id}/comments", {"body": "love it"}, format="json")
        assert comment.status_code == 201
        url = f"/api/v1/videos/{video.id}/comments/{comment.data['id']}"
        assert client_for(stranger).delete(url).status_code == 403
        assert client_for(video.owner).delete(url).status_code == 204
        too_long = client_for(author).post(f"/api/v1/videos/{video.id}/comments", {"body": "x" * 1001}, format="json")
        assert too_long.status_code == 400
        video.refresh_from_db()
        assert video.comment_count == 0

    def test_drafts_take_no_reactions(self):
        draft = VideoFactory(status="draft", published_at=None)
        with pytest.raises(DomainError):
            services.like_create(video=draft, user=UserFactory())


def _concurrently(calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_likes_count_fifty_and_a_double_like_counts_once():
    video = VideoFactory()
    fans = [UserFactory() for _ in range(50)]
    _concurrently([lambda fan=fan: services.like_create(video=video, user=fan) for fan in fans])
    video.refresh_from_db()
    assert video.like_count == 50 == Like.objects.filter(video=video).count()
    same = fans[0]
    services.like_delete(video=video, user=same)
    _concurrently([lambda: services.like_create(video=video, user=same)] * 2)
    video.refresh_from_db()
    assert video.like_count == 50
