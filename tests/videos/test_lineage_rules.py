"""A likeness travels with its pixels, and visibility never widens down a lineage.

Remixes are made as the render pipeline makes them (``video_create_draft`` with the source as parent,
the source's cameos recorded as appearances); the request side is in tests/media/test_remix_carry.py.
"""

import pytest

from backend.cameos import services as cameo_services
from backend.cameos.models import Appearance
from backend.core.errors import DomainError
from backend.videos import services
from backend.videos.models import Video
from tests.factories import AppearanceFactory, CameoFactory, CameoGrantFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a write and the reactions that follow its commit (receivers, events), as production does."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


def remix_of(source: Video, *, owner, publish: bool = True, visibility: str | None = None) -> Video:
    remix = services.video_create_draft(owner=owner, prompt="again", parent=source)
    for cameo_id in Appearance.objects.filter(video=source).values_list("cameo_id", flat=True):
        AppearanceFactory(cameo_id=cameo_id, video=remix)
    if publish:
        remix = services.video_publish(video=remix, by=owner, visibility=visibility)
    return remix


def status_for(client, video) -> int:
    return client.get(f"/api/v1/videos/{video.id}").status_code


# --- Visibility never widens down a lineage -------------------------------------------------


def test_narrowing_a_source_takes_its_remixes_with_it_and_widening_brings_them_back(
    run_on_commit, client_for, api_client
):
    source = VideoFactory()
    remixer = UserFactory()
    remix = remix_of(source, owner=remixer)
    deeper = remix_of(remix, owner=UserFactory())
    assert status_for(api_client, deeper) == 200

    run_on_commit(services.video_update, video=source, by=source.owner, visibility="followers")
    for video in (remix, deeper):
        video.refresh_from_db()
        assert video.withdrawn_reason == "source"
        assert status_for(api_client, video) == 404
    assert status_for(client_for(remixer), remix) == 404  # the remixer may no longer see the source either

    run_on_commit(services.video_update, video=source, by=source.owner, visibility="public")
    for video in (remix, deeper):
        video.refresh_from_db()
        assert video.withdrawn_at is None
        assert status_for(api_client, video) == 200


def test_a_moderator_takedown_takes_remixes_down_but_the_creators_own_deletion_leaves_them(run_on_commit, api_client):
    moderator = UserFactory(is_staff=True)
    taken_down, deleted = VideoFactory(), VideoFactory()
    remix_a = remix_of(taken_down, owner=UserFactory())
    remix_b = remix_of(deleted, owner=UserFactory())

    run_on_commit(services.video_remove, video=taken_down, by=moderator, reason="policy")
    run_on_commit(services.video_remove, video=deleted, by=deleted.owner, reason="deleted by its owner")
    assert status_for(api_client, remix_a) == 404
    assert status_for(api_client, remix_b) == 200
    lineage = api_client.get(f"/api/v1/videos/{remix_b.id}/lineage").data
    assert [(node["id"], node["status"]) for node in lineage["ancestors"]] == [(deleted.id, "removed")]

    run_on_commit(services.video_restore, video=taken_down, by=moderator, reason="appeal")
    assert status_for(api_client, remix_a) == 200


def test_a_remix_is_never_published_wider_than_its_own_source(run_on_commit):
    creator = UserFactory()
    source = VideoFactory(owner=creator, visibility="followers")
    remix = remix_of(source, owner=creator, publish=False)
    published = services.video_publish(video=remix, by=creator)
    assert published.visibility == "followers"  # narrowed by default
    with pytest.raises(DomainError) as refused:
        services.video_update(video=published, by=creator, visibility="public")
    assert refused.value.detail.code == "visibility_wider_than_source"


def test_a_remix_carries_its_sources_teen_restriction():
    source = VideoFactory(safe_for_teens=False)
    remix = services.video_create_draft(owner=UserFactory(), prompt="again", parent=source)
    assert remix.safe_for_teens is False


def test_age_restricting_a_source_restricts_what_embeds_it():
    from backend.videos.services import video_age_restrict

    source = VideoFactory()
    remix = remix_of(source, owner=UserFactory())
    video_age_restrict(video=source, by=UserFactory(is_staff=True), reason="not for minors")
    remix.refresh_from_db()
    assert remix.safe_for_teens is False


def test_someone_blocked_by_a_sources_creator_does_not_see_its_remixes(client_for):
    from backend.creators import services as creator_services

    source = VideoFactory()
    remix = remix_of(source, owner=UserFactory())
    viewer = UserFactory()
    assert status_for(client_for(viewer), remix) == 200
    creator_services.block_create(blocker=source.owner, blocked=viewer)
    assert status_for(client_for(viewer), remix) == 404


# --- Consent: drafts, remixes and restores --------------------------------------------------


def test_revoking_a_grant_withdraws_the_grantees_drafts_and_posts_and_everything_remixing_them(
    run_on_commit, client_for
):
    owner, grantee = UserFactory(), UserFactory()
    grant = CameoGrantFactory(cameo=CameoFactory(owner=owner, audience="approved"), grantee=grantee, status="approved")
    post = VideoFactory(owner=grantee)
    AppearanceFactory(cameo=grant.cameo, video=post)
    draft = VideoFactory(owner=grantee, status="draft", published_at=None)
    AppearanceFactory(cameo=grant.cameo, video=draft)
    remixer = UserFactory()
    CameoGrantFactory(cameo=grant.cameo, grantee=remixer, status="approved")  # the remixer keeps theirs
    remix = remix_of(post, owner=remixer)

    run_on_commit(cameo_services.grant_revoke, grant=grant, by=owner)
    for video in (post, draft, remix):
        video.refresh_from_db()
        assert video.withdrawn_at is not None
        assert status_for(client_for(grantee), video) == 404
        assert status_for(client_for(owner), video) == 404  # opened by nobody; listed below for its owner
    assert {row["video_id"] for row in client_for(owner).get(f"/api/v1/cameos/{grant.cameo_id}/appearances").data[
        "results"]} == {post.id, draft.id, remix.id}  # fmt: skip


@pytest.mark.parametrize("how", ["cameo_deleted", "appearance_removed_and_grant_revoked", "grant_revoked"])
def test_a_moderator_cannot_restore_what_consent_no_longer_allows(how, run_on_commit):
    owner, creator = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience="approved")
    grant = CameoGrantFactory(cameo=cameo, grantee=creator, status="approved")
    video = VideoFactory(owner=creator)
    AppearanceFactory(cameo=cameo, video=video)
    moderator = UserFactory(is_staff=True)
    if how == "cameo_deleted":
        run_on_commit(cameo_services.cameo_delete, cameo=cameo, by=owner)
    elif how == "appearance_removed_and_grant_revoked":
        run_on_commit(cameo_services.appearance_remove, cameo=cameo, by=owner, video_id=video.id)
        run_on_commit(cameo_services.grant_revoke, grant=grant, by=owner)
    else:
        run_on_commit(cameo_services.grant_revoke, grant=grant, by=owner)
        run_on_commit(services.video_remove, video=video, by=moderator, reason="reported")
    with pytest.raises(services.RestoreRefused) as refused:
        services.video_restore(video=video, by=moderator, reason="appeal")
    assert refused.value.detail.code in {"appearance_removed_by_owner", "consent_withdrawn", "cameo_not_allowed"}
    video.refresh_from_db()
    assert video.status == "removed"


def test_restore_brings_back_a_video_whose_consent_stands(run_on_commit, api_client):
    video = VideoFactory()
    moderator = UserFactory(is_staff=True)
    run_on_commit(services.video_remove, video=video, by=moderator, reason="mistake")
    run_on_commit(services.video_restore, video=video, by=moderator, reason="appeal")
    assert status_for(api_client, video) == 200


# --- Lists neither list nor count what the viewer may not see -------------------------------


def test_lineage_and_remixes_hide_drafts_and_private_remixes_from_others(client_for, api_client):
    source = VideoFactory()
    public = remix_of(source, owner=UserFactory())
    draft = remix_of(source, owner=UserFactory(), publish=False)
    private = remix_of(source, owner=UserFactory(), visibility="private")
    for client, expected in ((api_client, {public.id}), (client_for(private.owner), {public.id, private.id})):
        lineage = client.get(f"/api/v1/videos/{source.id}/lineage").data
        assert {node["id"] for node in lineage["results"]} == expected
        assert lineage["descendant_count"] == len(expected)
        subtree = client.get(f"/api/v1/videos/{source.id}/remixes").data
        assert {node["id"] for node in subtree["results"]} == expected
        assert subtree["descendant_count"] == len(expected)
    assert api_client.get(f"/api/v1/videos/{draft.id}/lineage").status_code == 404


def test_reports_and_events_answer_the_same_for_a_hidden_video_as_for_none(client_for):
    draft = VideoFactory(status="draft", published_at=None)
    stranger = client_for(UserFactory())
    missing = Video.objects.order_by("-id").values_list("id", flat=True).first() + 1000
    answers = []
    for video_id in (draft.id, missing):
        report = stranger.post("/api/v1/reports", {"target_type": "video", "target_id": video_id, "reason": "spam"},
                               format="json")  # fmt: skip
        events = stranger.post(
            "/api/v1/feed/events",
            {"events": [{"id": f"e-{video_id}", "video_id": video_id, "type": "impression"}]},
            format="json",
        )
        answers.append((report.status_code, report.json()["error"]["code"], events.status_code, events.json()))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (404, "not_found")
    assert answers[0][3] == {"accepted": 0, "duplicates": 0, "ignored": 1}
