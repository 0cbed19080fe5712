import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification
from backend.videos.models import Video
from tests.cameos.conftest import ALLOWED, AUDIENCES, RELATIONSHIPS
from tests.factories import CameoFactory, UserFactory, VideoFactory
from tests.media_files import make_clip, png_bytes

pytestmark = pytest.mark.django_db


def url(*parts):
    return "/api/v1/cameos" + "".join(f"/{part}" for part in parts)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    good = make_clip(folder / "good.mp4", seconds=4)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    image_as_mp4 = folder / "image.mp4"
    image_as_mp4.write_bytes(png_bytes((320, 240)))
    return {
        "good": good,
        "silent": make_clip(folder / "silent.mp4", seconds=4, audio=False),
        "long": make_clip(folder / "long.mp4", seconds=31, size="64x48"),
        "short": make_clip(folder / "short.mp4", seconds=1),
        "truncated": truncated,
        "image": image_as_mp4,
        "text": _text_file(folder / "notes.mp4"),
    }


def _text_file(path):
    path.write_text("just some notes, not a video\n" * 50)
    return path


def upload(path, name="clip.mp4"):
    return SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4")


class TestMatrixThroughTheApi:
    @pytest.mark.parametrize("relationship", RELATIONSHIPS)
    @pytest.mark.parametrize("audience", AUDIENCES)
    def test_available_and_detail_follow_the_permission(self, cameo_and_user, client_for, audience, relationship):
        cameo, user = cameo_and_user(audience, relationship)
        client = client_for(user)
        allowed = audience in ALLOWED[relationship]
        available = {item["id"] for item in client.get(url("available")).data["results"]}
        assert (cameo.id in available) is allowed
        detail = client.get(url(cameo.id))
        assert detail.status_code == (200 if allowed else 404)
        if not allowed:
            assert detail.data["error"]["code"] == "not_found"


class TestCreateAndSettings:
    def test_anonymous_cannot_list_or_create(self, api_client):
        assert api_client.get(url()).status_code == 401
        assert api_client.post(url(), {"kind": "character", "display_name": "x"}).status_code == 401

    def test_a_person_cameo_waits_for_verification_and_only_one_is_allowed(self, client_for, user):
        client = client_for(user)
        created = client.post(url(), {"kind": "person", "display_name": "Me"}, format="json")
        assert (created.status_code, created.data["status"]) == (201, "pending_verification")
        again = client.post(url(), {"kind": "person", "display_name": "Me again"}, format="json")
        assert (again.status_code, again.data["error"]["code"]) == (409, "person_cameo_exists")

    def test_characters_are_active_at_once_within_the_tier_quota(self, client_for, user, settings):
        settings.TIER_QUOTAS = {**settings.TIER_QUOTAS, "free": {**settings.TIER_QUOTAS["free"], "character_cameos": 2}}
        client = client_for(user)
        for name in ("Pixel", "Mug"):
            response = client.post(url(), {"kind": "character", "display_name": name}, format="json")
            assert (response.status_code, response.data["status"]) == (201, "active")
        over = client.post(url(), {"kind": "character", "display_name": "Third"}, format="json")
        assert (over.status_code, over.data["error"]["code"]) == (400, "character_quota")

    def test_a_character_cannot_take_a_protected_name(self, client_for, user):
        from backend.cameos.models import ProtectedLikeness

        ProtectedLikeness.objects.create(name="Taylor Swift")
        response = client_for(user).post(url(), {"kind": "character", "display_name": "taylor swift"}, format="json")
        assert (response.status_code, response.data["error"]["code"]) == (403, "protected_likeness")

    def test_owner_updates_audience_and_preferences(self, client_for):
        cameo = CameoFactory(audience="only_me")
        response = client_for(cameo.owner).patch(
            url(cameo.id), {"audience": "mutuals", "restrictions": "never drinking"}, format="json"
        )
        assert (response.data["audience"], response.data["restrictions"]) == ("mutuals", "never drinking")

    def test_someone_else_cannot_change_or_delete_it(self, client_for):
        cameo = CameoFactory(audience="everyone")
        other = client_for(UserFactory())
        assert other.patch(url(cameo.id), {"audience": "everyone"}, format="json").status_code == 404
        assert other.delete(url(cameo.id)).status_code == 404
        assert Cameo.objects.get(id=cameo.id).status == "active"


class TestReferenceMedia:
    def test_only_the_owner_gets_a_link_and_the_link_works_until_it_expires(self, client_for, user, client):
        image = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
        created = client_for(user).post(
            url(), {"kind": "character", "display_name": "Pixel", "audience": "everyone", "reference_image": image},
            format="multipart",
        )  # fmt: skip
        assert created.status_code == 201
        link = created.data["reference_image_url"]
        assert client.get(link).status_code == 200
        seen_by_other = client_for(UserFactory()).get(url(created.data["id"])).data
        assert "reference_image_url" not in seen_by_other
        assert client.get(link[:-3] + "xyz").status_code == 404

    def test_an_expired_link_is_refused(self, client_for, user, client, settings):
        image = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
        link = (
            client_for(user)
            .post(url(), {"kind": "character", "display_name": "Pixel", "reference_image": image}, format="multipart")
            .data["reference_image_url"]
        )
        settings.MEDIA_URL_EXPIRY_SECONDS = -1
        assert client.get(link).status_code == 404

    def test_a_fake_image_is_refused_and_nothing_is_stored(self, client_for, user, settings):
        fake = SimpleUploadedFile("me.png", b"\x89PNG not really", content_type="image/png")
        response = client_for(user).post(
            url(), {"kind": "character", "display_name": "Pixel", "reference_image": fake}, format="multipart"
        )
        assert (response.status_code, response.data["error"]["code"]) == (400, "invalid_image")
        assert not Cameo.objects.exists()
        assert not list((settings.MEDIA_ROOT / "private").rglob("*.jpg"))


class TestVerification:
    @pytest.fixture
    def person(self, user):
        return Cameo.objects.create(owner=user, kind="person", display_name="Me", status="pending_verification")

    def test_challenge_is_issued_once_and_answered_with_a_clip(self, client_for, person, clips):
        client = client_for(person.owner)
        challenge = client.post(url(person.id, "verification"), {}, format="json").data
        assert challenge["phrase"] and challenge["status"] == "issued"
        assert (
            client.post(url(person.id, "verification"), {}, format="json").data["challenge_id"]
            == (challenge["challenge_id"])
        )
        answered = client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips["good"])},
            format="multipart",
        )
        assert (answered.status_code, answered.data["status"]) == (201, "submitted")
        reused = client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips["good"])},
            format="multipart",
        )
        assert (reused.status_code, reused.data["error"]["code"]) == (409, "challenge_used")

    def test_an_expired_challenge_is_refused(self, client_for, person, clips):
        client = client_for(person.owner)
        challenge = client.post(url(person.id, "verification"), {}, format="json").data
        CameoVerification.objects.filter(id=challenge["challenge_id"]).update(expires_at="2000-01-01T00:00Z")
        response = client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips["good"])},
            format="multipart",
        )
        assert (response.status_code, response.data["error"]["code"]) == (400, "challenge_expired")

    @pytest.mark.parametrize(
        ("clip", "status", "code"),
        [
            ("silent", 400, "no_audio"),
            ("long", 400, "too_long"),
            ("short", 400, "too_short"),
            ("truncated", 400, "unreadable_video"),
            ("image", 400, "not_a_video"),
            ("text", 400, "unreadable_video"),
        ],
    )
    def test_bad_clips_are_refused_with_their_reason_and_leave_nothing(
        self, client_for, person, clips, settings, clip, status, code
    ):
        client = client_for(person.owner)
        challenge = client.post(url(person.id, "verification"), {}, format="json").data
        response = client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips[clip])},
            format="multipart",
        )
        assert (response.status_code, response.data["error"]["code"]) == (status, code)
        assert CameoVerification.objects.get(id=challenge["challenge_id"]).status == "issued"
        assert not list((settings.MEDIA_ROOT / "private").rglob("*.mp4"))

    def test_a_clip_over_the_size_cap_is_413(self, client_for, person, clips, settings):
        settings.CAMEO_CLIP_MAX_BYTES = 1000
        client = client_for(person.owner)
        challenge = client.post(url(person.id, "verification"), {}, format="json").data
        response = client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips["good"])},
            format="multipart",
        )
        assert (response.status_code, response.data["error"]["code"]) == (413, "file_too_large")

    def test_a_moderator_approval_makes_the_cameo_active(self, client_for, person, clips):
        from backend.cameos import services

        client = client_for(person.owner)
        challenge = client.post(url(person.id, "verification"), {}, format="json").data
        client.post(
            url(person.id, "verification"),
            {"challenge_id": challenge["challenge_id"], "clip": upload(clips["good"])},
            format="multipart",
        )
        verification = CameoVerification.objects.get(id=challenge["challenge_id"])
        services.verification_approve(verification=verification, by=UserFactory(is_staff=True))
        person.refresh_from_db()
        assert person.status == "active" and person.verified_at is not None


class TestGrants:
    def test_request_approve_revoke_flow(self, client_for):
        cameo = CameoFactory(audience="approved")
        fan = UserFactory()
        fan_client, owner_client = client_for(fan), client_for(cameo.owner)
        requested = fan_client.post(url(cameo.id, "grants"))
        assert (requested.status_code, requested.data["status"]) == (201, "requested")
        assert fan_client.post(url(cameo.id, "grants")).data["id"] == requested.data["id"]
        assert fan_client.get(url(cameo.id, "grants")).status_code == 404
        listed = owner_client.get(url(cameo.id, "grants")).data["results"]
        assert [grant["grantee_handle"] for grant in listed] == [fan.handle]
        grant_id = requested.data["id"]
        assert owner_client.post(url(cameo.id, "grants", grant_id, "approve")).data["status"] == "approved"
        assert fan_client.get(url(cameo.id)).status_code == 200
        assert owner_client.post(url(cameo.id, "grants", grant_id, "revoke")).data["status"] == "revoked"
        assert fan_client.get(url(cameo.id)).status_code == 404

    def test_only_the_owner_decides(self, client_for):
        cameo = CameoFactory(audience="approved")
        fan = UserFactory()
        grant = CameoGrant.objects.create(cameo=cameo, grantee=fan)
        assert client_for(fan).post(url(cameo.id, "grants", grant.id, "approve")).status_code == 404
        assert client_for(UserFactory()).post(url(cameo.id, "grants", grant.id, "approve")).status_code == 404

    def test_blocked_users_cannot_request_and_a_block_revokes(self, client_for):
        from backend.creators import services

        cameo = CameoFactory(audience="approved")
        fan, pest = UserFactory(), UserFactory()
        grant = CameoGrant.objects.create(cameo=cameo, grantee=fan, status="approved")
        services.block_create(blocker=cameo.owner, blocked=pest)
        assert client_for(pest).post(url(cameo.id, "grants")).status_code == 404
        services.block_create(blocker=fan, blocked=cameo.owner)
        grant.refresh_from_db()
        assert grant.status == "revoked"

    def test_requests_only_for_cameos_under_approved_audience(self, client_for):
        cameo = CameoFactory(audience="only_me")
        assert client_for(UserFactory()).post(url(cameo.id, "grants")).status_code == 404


class TestAppearances:
    def test_owner_sees_every_appearance_drafts_included_and_removes_one(self, client_for):
        cameo = CameoFactory(audience="everyone")
        draft = VideoFactory(status="draft", published_at=None)
        post = VideoFactory()
        for video in (draft, post):
            Appearance.objects.create(cameo=cameo, video=video)
        owner = client_for(cameo.owner)
        listed = owner.get(url(cameo.id, "appearances")).data["results"]
        assert {item["video_id"] for item in listed} == {draft.id, post.id}
        assert client_for(draft.owner).get(url(cameo.id, "appearances")).status_code == 404
        assert owner.get(f"/api/v1/videos/{draft.id}").status_code == 200  # other people's drafts too
        assert owner.delete(url(cameo.id, "appearances", post.id)).status_code == 204
        post.refresh_from_db()
        assert post.status == "removed"
        from backend.moderation.models import AuditLogEntry

        assert AuditLogEntry.objects.filter(action="video.remove", target_id=str(post.id)).exists()

    def test_deleting_a_cameo_takes_down_its_videos_and_erases_its_media(
        self, client_for, settings, django_capture_on_commit_callbacks
    ):
        image = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
        user = UserFactory()
        client = client_for(user)
        created = client.post(
            url(), {"kind": "character", "display_name": "Pixel", "reference_image": image}, format="multipart"
        ).data
        video = VideoFactory()
        Appearance.objects.create(cameo_id=created["id"], video=video)
        assert list((settings.MEDIA_ROOT / "private").rglob("*.jpg"))
        with django_capture_on_commit_callbacks(execute=True):
            assert client.delete(url(created["id"])).status_code == 204
        video.refresh_from_db()
        assert video.status == Video.Status.REMOVED
        assert not list((settings.MEDIA_ROOT / "private").rglob("*.jpg"))
        assert client.get(url(created["id"])).status_code == 404
