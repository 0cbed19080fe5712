import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.cameos.models import Cameo, CameoGrant, CameoVerification
from backend.videos.models import Video
from tests.cameos.conftest import ALLOWED, AUDIENCES, RELATIONSHIPS, png_upload, stored_private_files, upload
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    PersonCameoFactory,
    ProtectedLikenessFactory,
    UserFactory,
    VideoFactory,
)
from tests.media_files import png_bytes

pytestmark = pytest.mark.django_db


def url(*parts):
    return "/api/v1/cameos" + "".join(f"/{part}" for part in parts)


@pytest.fixture
def clips(media_files):
    return media_files


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
        elif relationship != "owner":
            assert "reference_image_url" not in detail.data and "restrictions" not in detail.data


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

        ProtectedLikenessFactory(name="Taylor Swift")
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
        return PersonCameoFactory(owner=user, display_name="Me")

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
        assert answered["Location"] == f"http://testserver{url(person.id, 'verification')}"
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
            ("truncated", 400, "truncated"),
            ("image", 400, "not_a_video"),
            ("text", 400, "not_a_video"),
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
        grant = CameoGrantFactory(cameo=cameo, grantee=fan)
        assert client_for(fan).post(url(cameo.id, "grants", grant.id, "approve")).status_code == 404
        assert client_for(UserFactory()).post(url(cameo.id, "grants", grant.id, "approve")).status_code == 404

    def test_blocked_users_cannot_request_and_a_block_revokes(self, client_for):
        from backend.creators import services

        cameo = CameoFactory(audience="approved")
        fan, pest = UserFactory(), UserFactory()
        grant = CameoGrantFactory(cameo=cameo, grantee=fan, status="approved")
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
            AppearanceFactory(cameo=cameo, video=video)
        owner = client_for(cameo.owner)
        listed = owner.get(url(cameo.id, "appearances")).data["results"]
        assert {item["video_id"] for item in listed} == {draft.id, post.id}
        assert client_for(draft.owner).get(url(cameo.id, "appearances")).status_code == 404
        assert owner.get(f"/api/v1/videos/{draft.id}").status_code == 200  # other people's drafts too
        assert owner.delete(url(cameo.id, "appearances", post.id)).status_code == 204
        post.refresh_from_db()
        assert post.status == "removed"
        from backend.core.models import AuditLogEntry

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
        AppearanceFactory(cameo_id=created["id"], video=video)
        assert list((settings.MEDIA_ROOT / "private").rglob("*.jpg"))
        with django_capture_on_commit_callbacks(execute=True):
            assert client.delete(url(created["id"])).status_code == 204
        video.refresh_from_db()
        assert video.status == Video.Status.REMOVED
        assert not list((settings.MEDIA_ROOT / "private").rglob("*.jpg"))
        assert client.get(url(created["id"])).status_code == 404


ENDPOINTS = [
    ("get", ()),
    ("post", ()),
    ("get", ("available",)),
    ("get", ("{id}",)),
    ("patch", ("{id}",)),
    ("delete", ("{id}",)),
    ("post", ("{id}", "verification")),
    ("get", ("{id}", "grants")),
    ("post", ("{id}", "grants")),
    ("post", ("{id}", "grants", "{grant}", "approve")),
    ("post", ("{id}", "grants", "{grant}", "deny")),
    ("post", ("{id}", "grants", "{grant}", "revoke")),
    ("get", ("{id}", "appearances")),
    ("delete", ("{id}", "appearances", "{video}")),
]


def _endpoint_id(value):
    return value if isinstance(value, str) else "/".join(value) or "cameos"


def _fill(parts, **ids):
    return [str(part).format(**ids) for part in parts]


class TestWhoMayCallWhat:
    @pytest.mark.parametrize(("method", "parts"), ENDPOINTS, ids=_endpoint_id)
    def test_anonymous_callers_are_refused(self, api_client, method, parts):
        appearance = AppearanceFactory(cameo=CameoFactory(audience="approved"))
        grant = CameoGrantFactory(cameo=appearance.cameo)
        path = url(*_fill(parts, id=appearance.cameo_id, grant=grant.id, video=appearance.video_id))
        response = getattr(api_client, method)(path)
        assert (response.status_code, response.data["error"]["code"]) == (401, "not_authenticated")

    @pytest.mark.parametrize(
        ("method", "parts"),
        [
            (method, parts)
            for method, parts in ENDPOINTS
            if parts[:1] == ("{id}",) and (method, parts) not in (("get", ("{id}",)), ("post", ("{id}", "grants")))
        ],
        ids=_endpoint_id,
    )
    def test_owner_only_endpoints_are_404_even_for_someone_who_may_use_the_cameo(self, client_for, method, parts):
        # Given a cameo everyone may use, one of its grants and an appearance
        appearance = AppearanceFactory(cameo=CameoFactory(audience="everyone"))
        cameo = appearance.cameo
        grant = CameoGrantFactory(cameo=cameo)
        # When a user who is not its owner calls an owner's endpoint
        path = url(*_fill(parts, id=cameo.id, grant=grant.id, video=appearance.video_id))
        response = getattr(client_for(UserFactory()), method)(path, {}, format="json")
        # Then it does not exist for them, and nothing changed
        assert (response.status_code, response.data["error"]["code"]) == (404, "not_found")
        assert CameoGrant.objects.get(id=grant.id).status == "requested"
        assert Video.objects.get(id=appearance.video_id).status == "published"
        assert Cameo.objects.get(id=cameo.id).status == "active"

    def test_a_missing_or_deleted_cameo_is_404(self, client_for):
        cameo = CameoFactory()
        client = client_for(cameo.owner)
        assert client.get(url(cameo.id + 1000)).status_code == 404
        assert client.delete(url(cameo.id)).status_code == 204
        assert client.get(url(cameo.id)).status_code == 404
        assert client.patch(url(cameo.id), {"audience": "everyone"}, format="json").status_code == 404
        assert cameo.id not in {item["id"] for item in client.get(url()).data["results"]}


class TestListAndAvailable:
    def test_the_own_list_shows_every_live_cameo_of_the_caller_only(self, client_for, user):
        mine = [CameoFactory(owner=user), PersonCameoFactory(owner=user), CameoFactory(owner=user, status="suspended")]
        CameoFactory(owner=user, status="deleted")
        CameoFactory(audience="everyone")
        listed = client_for(user).get(url()).data["results"]
        assert {item["id"] for item in listed} == {cameo.id for cameo in mine}

    def test_available_lists_own_active_and_permitted_cameos(self, client_for, user):
        own = CameoFactory(owner=user, audience="only_me")
        PersonCameoFactory(owner=user)  # waiting for verification: not usable yet
        public = CameoFactory(audience="everyone")
        CameoFactory(audience="only_me")
        listed = client_for(user).get(url("available")).data["results"]
        assert {item["id"] for item in listed} == {own.id, public.id}

    def test_available_costs_the_same_queries_for_many_cameos(self, client_for, user, django_assert_num_queries):
        client = client_for(user)
        for _ in range(3):
            CameoFactory(audience="everyone")
        with django_assert_num_queries(2):  # the JWT's user, then the page
            client.get(url("available"))
        for _ in range(15):
            CameoFactory(audience="everyone")
        with django_assert_num_queries(2):
            assert len(client.get(url("available")).data["results"]) == 18


class TestMediaThroughTheApi:
    def test_create_with_every_kind_of_media_and_only_the_owner_gets_links(self, client_for, user, client, clips):
        created = client_for(user).post(
            url(),
            {
                "kind": "character",
                "display_name": "Pixel",
                "audience": "everyone",
                "reference_image": png_upload(),
                "reference_clip": upload(clips["silent"]),
                "voice_sample": upload(clips["voice"], content_type="audio/mp4"),
            },
            format="multipart",
        )
        assert created.status_code == 201, created.data
        links = [created.data[field] for field in ("reference_image_url", "reference_clip_url", "voice_sample_url")]
        types = [client.get(link)["Content-Type"] for link in links]
        assert types == ["image/jpeg", "video/mp4", "audio/mp4"]
        for viewer in (client_for(UserFactory()),):
            body = str(viewer.get(url(created.data["id"])).data) + str(viewer.get(url("available")).data)
            assert "cameos/" not in body and "/media/private/" not in body

    def test_patch_replaces_a_voice_sample(self, client_for, user, clips):
        cameo = CameoFactory(owner=user)
        response = client_for(user).patch(
            url(cameo.id), {"voice_sample": upload(clips["voice_wav"], content_type="audio/wav")}, format="multipart"
        )
        assert response.status_code == 200 and response.data["voice_sample_url"]

    @pytest.mark.parametrize(
        ("field", "clip", "code"),
        [
            ("reference_clip", "image", "not_a_video"),
            ("reference_clip", "truncated", "truncated"),
            ("reference_clip", "long", "too_long"),
            ("voice_sample", "voice_short", "too_short"),
            ("voice_sample", "text", "not_audio"),
        ],
    )
    def test_bad_media_refuse_the_request_and_leave_nothing(self, client_for, user, clips, settings, field, clip, code):
        response = client_for(user).post(
            url(),
            {"kind": "character", "display_name": "Pixel", "reference_image": png_upload(), field: upload(clips[clip])},
            format="multipart",
        )
        assert (response.status_code, response.data["error"]["code"]) == (400, code)
        assert not Cameo.objects.exists() and stored_private_files(settings) == []


class TestGrantStatusCodes:
    def test_first_request_is_201_and_a_repeat_200(self, client_for):
        cameo = CameoFactory(audience="approved")
        client = client_for(UserFactory())
        assert client.post(url(cameo.id, "grants")).status_code == 201
        assert client.post(url(cameo.id, "grants")).status_code == 200

    def test_denying_an_approved_grant_is_a_conflict(self, client_for):
        grant = CameoGrantFactory(status="approved")
        response = client_for(grant.cameo.owner).post(url(grant.cameo_id, "grants", grant.id, "deny"))
        assert (response.status_code, response.data["error"]["code"]) == (409, "grant_approved")

    def test_a_grant_of_another_cameo_is_404(self, client_for):
        grant = CameoGrantFactory()
        other = CameoFactory(owner=grant.cameo.owner, audience="approved")
        response = client_for(grant.cameo.owner).post(url(other.id, "grants", grant.id, "approve"))
        assert response.status_code == 404
