"""HTTP details a mobile client relies on: every 429 and 503 says when to come back, every 201 says where
the created resource is, the reads it polls answer 304 while unchanged, and every media URL is absolute."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.throttling import UserRateThrottle

from backend.cameos import services as cameo_services
from backend.core.errors import DomainError, api_exception_handler
from backend.core.private_media import media_file_url
from backend.creators import services as creator_services
from backend.videos import services as video_services
from backend.videos.models import Video
from media.models import RenderJob
from notifications import services as notification_services
from notifications.models import Kind
from tests.core.test_lists import api_schema
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def render(client, key):
    return client.post(
        "/api/v1/renders", {"prompt": "a dragon learning to skate", "duration_s": 5}, HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.fixture
def queued(monkeypatch):
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: None)


class TestRetryAfter:
    def test_a_throttled_request(self, client_for, monkeypatch):
        monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"})
        client = client_for(UserFactory())
        client.get("/api/v1/me")
        response = client.get("/api/v1/me")
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 60

    def test_the_concurrent_render_cap(self, client_for, user, queued, settings):
        settings.TIER_QUOTAS = {
            **settings.TIER_QUOTAS,
            "free": {**settings.TIER_QUOTAS["free"], "concurrent_renders": 1},
        }
        client = client_for(user)
        assert render(client, "a").status_code == 201
        response = render(client, "b")
        assert (response.status_code, response["Retry-After"]) == (429, "30")

    def test_the_daily_render_cap_says_when_the_oldest_render_leaves_the_window(
        self, client_for, user, queued, settings
    ):
        settings.TIER_QUOTAS = {**settings.TIER_QUOTAS, "free": {**settings.TIER_QUOTAS["free"], "daily_renders": 1}}
        client = client_for(user)
        render(client, "a")
        RenderJob.objects.filter(requester=user).update(
            status="succeeded", created_at=timezone.now() - timedelta(hours=23)
        )
        response = render(client, "b")
        assert response.data["error"]["code"] == "daily_render_limit"
        assert 3500 <= int(response["Retry-After"]) <= 3602  # an hour left of the 24

    def test_a_minor_at_the_daily_feed_limit_comes_back_tomorrow(self, client_for, settings):
        settings.FEED_TEEN_DAILY_CARDS = 0
        teen = UserFactory(birth_date=timezone.localdate() - timedelta(days=365 * 15))
        response = client_for(teen).get("/api/v1/feed")
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 24 * 3600 + 1

    @pytest.mark.parametrize("status", [429, 503])
    def test_a_refusal_that_names_no_wait_gets_the_default_pause(self, status, settings, rf):
        # The safety net under every 429 and 503 a service raises without ``retry_after_s``.
        settings.UNAVAILABLE_RETRY_AFTER_S = 7
        refusal = type("Refusal", (DomainError,), {"status_code": status})()
        response = api_exception_handler(refusal, {"request": rf.get("/api/v1/me")})
        assert (response.status_code, response["Retry-After"]) == (status, "7")
        waited = type("Refusal", (DomainError,), {"status_code": status})(retry_after_s=90)
        assert api_exception_handler(waited, {"request": rf.get("/api/v1/me")})["Retry-After"] == "90"

    # 503s (PostgreSQL or Redis out of reach) carry Retry-After wherever they arise: tests/core/test_outages.py.


# Every operation that answers 201, and the test that checks its Location.
LOCATION_TESTED = {
    ("post", "/api/v1/auth/register"): "TestLocation.test_registering",
    ("post", "/api/v1/cameos"): "TestLocation.test_a_cameo_and_its_verification",
    ("post", "/api/v1/cameos/{cameo_id}/verification"): "tests/cameos/test_api.py, TestVerification",
    ("post", "/api/v1/cameos/{cameo_id}/grants"): "TestLocation.test_a_grant_request",
    ("post", "/api/v1/renders"): "TestLocation.test_a_render",
    ("post", "/api/v1/videos/{video_id}/remix"): "TestLocation.test_a_remix",
    ("post", "/api/v1/videos/{video_id}/comments"): "TestLocation.test_a_comment",
    ("post", "/api/v1/uploads"): "tests/cameos/test_direct_uploads.py, the form upload",
    ("post", "/api/v1/devices"): "TestLocation.test_a_device",
    ("post", "/api/v1/reports"): "TestLocation.test_a_report",
}


class TestLocation:
    def test_every_201_of_the_api_is_checked_here(self):
        answering_201 = {
            (method, path)
            for path, operations in api_schema()["paths"].items()
            for method, operation in operations.items()
            if "201" in operation.get("responses", {})
        }
        assert answering_201 == set(LOCATION_TESTED)

    def test_a_remix(self, client_for, user, queued):
        source = VideoFactory()
        response = client_for(user).post(
            f"/api/v1/videos/{source.id}/remix",
            {"prompt": "the same, at night", "duration_s": 4},
            format="json",
            HTTP_IDEMPOTENCY_KEY="remix-1",
        )
        assert (response.status_code, response["Location"]) == (
            201,
            f"http://testserver/api/v1/renders/{response.data['id']}",
        )

    def test_a_device(self, client_for, user):
        body = {"token": "t" * 40, "platform": "android"}
        response = client_for(user).post("/api/v1/devices", body, format="json")
        assert (response.status_code, response["Location"]) == (201, f"http://testserver/api/v1/devices/{'t' * 40}")
        again = client_for(user).post("/api/v1/devices", body, format="json")  # a refresh creates nothing
        assert (again.status_code, again.has_header("Location")) == (200, False)

    def test_a_report(self, client_for, user):
        video = VideoFactory()
        body = {"target_type": "video", "target_id": video.id, "reason": "spam"}
        response = client_for(user).post("/api/v1/reports", body, format="json")
        assert response.status_code == 201
        assert response["Location"] == f"http://testserver/api/v1/reports/{response.data['id']}"
        assert client_for(user).get(response["Location"]).json()["target_id"] == video.id
        assert client_for(UserFactory()).get(response["Location"]).status_code == 404  # nobody else's
        assert client_for(video.owner).get(response["Location"]).status_code == 404

    def test_a_render(self, client_for, user, queued):
        response = render(client_for(user), "a")
        assert response["Location"] == f"http://testserver/api/v1/renders/{response.data['id']}"
        again = render(client_for(user), "a")  # the same request again: 200, nothing created
        assert (again.status_code, again.has_header("Location")) == (200, False)

    def test_a_cameo_and_its_verification(self, client_for, user):
        client = client_for(user)
        response = client.post("/api/v1/cameos", {"kind": "character", "display_name": "Rex"}, format="json")
        assert (response.status_code, response["Location"]) == (
            201,
            f"http://testserver/api/v1/cameos/{response.data['id']}",
        )

    def test_a_grant_request(self, client_for):
        cameo = CameoFactory(audience="approved")
        response = client_for(UserFactory()).post(f"/api/v1/cameos/{cameo.id}/grants")
        assert (response.status_code, response["Location"]) == (
            201,
            f"http://testserver/api/v1/cameos/{cameo.id}/grants",
        )

    def test_a_comment(self, client_for, user):
        video = VideoFactory()
        response = client_for(user).post(f"/api/v1/videos/{video.id}/comments", {"body": "nice"}, format="json")
        assert response.status_code == 201
        assert response["Location"] == f"http://testserver/api/v1/videos/{video.id}/comments/{response.data['id']}"

    def test_registering(self, api_client):
        body = {"email": "new@example.com", "password": "a long enough password", "handle": "newcomer"}
        response = api_client.post("/api/v1/auth/register", body, format="json")
        assert (response.status_code, response["Location"]) == (201, "http://testserver/api/v1/me")


# --- Conditional reads ------------------------------------------------------------------------------------


class TestETag:
    @pytest.fixture
    def owner(self):
        return UserFactory()

    @pytest.fixture
    def paths(self, owner):
        video = VideoFactory(owner=owner, mp4="videos/1/video.mp4", poster="videos/1/poster.jpg")
        cameo = CameoFactory(owner=owner)
        return {
            "me": "/api/v1/me",
            "creator": f"/api/v1/creators/{owner.handle}",
            "video": f"/api/v1/videos/{video.id}",
            "cameo": f"/api/v1/cameos/{cameo.id}",
        }

    @pytest.mark.parametrize("read", ["me", "creator", "video", "cameo"])
    def test_a_read_again_unchanged_is_a_304_with_no_body(self, client_for, owner, paths, read):
        client = client_for(owner)
        first = client.get(paths[read])
        etag = first["ETag"]
        assert (first.status_code, etag[:3]) == (200, 'W/"')
        assert {"Authorization", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}
        assert "private" in first["Cache-Control"]
        again = client.get(paths[read], HTTP_IF_NONE_MATCH=etag)
        assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
        among = client.get(paths[read], HTTP_IF_NONE_MATCH=f'"something-else", {etag}')
        assert among.status_code == 304
        stale = client.get(paths[read], HTTP_IF_NONE_MATCH='W/"an-old-version"')
        assert (stale.status_code, stale.json(), stale["ETag"]) == (200, first.json(), etag)

    @pytest.mark.parametrize("read", ["me", "creator", "video", "cameo"])
    def test_a_change_makes_a_new_etag(self, client_for, owner, paths, read):
        client = client_for(owner)
        etag = client.get(paths[read])["ETag"]
        if read == "me":
            client.patch("/api/v1/me", {"bio": "now with a bio"}, format="json")
        elif read == "creator":
            creator_services.follow_create(follower=UserFactory(), followee=owner)
        elif read == "video":
            video_services.like_create(video=owner.videos.get(), user=UserFactory())
        else:
            cameo_services.cameo_update(cameo=owner.cameos.get(), by=owner, audience="mutuals")
        changed = client.get(paths[read], HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200
        assert changed["ETag"] != etag

    def test_what_differs_by_viewer_has_an_etag_per_viewer(self, client_for, owner, paths):
        fan, stranger = UserFactory(), UserFactory()
        creator_services.follow_create(follower=fan, followee=owner)
        video_services.like_create(video=owner.videos.get(), user=fan)
        for read in ("creator", "video"):
            fans = client_for(fan).get(paths[read])
            strangers = client_for(stranger).get(paths[read], HTTP_IF_NONE_MATCH=fans["ETag"])
            assert strangers.status_code == 200 and strangers["ETag"] != fans["ETag"]
        assert client_for(fan).get(paths["video"]).json()["liked"] is True

    def test_someone_elses_draft_or_private_cameo_stays_a_404(self, client_for, owner):
        draft = VideoFactory(owner=owner, status="draft", published_at=None)
        private = CameoFactory(owner=owner, audience="only_me")
        for path in (f"/api/v1/videos/{draft.id}", f"/api/v1/cameos/{private.id}"):
            etag = client_for(owner).get(path)["ETag"]
            for if_none_match in (etag, "*"):
                response = client_for(UserFactory()).get(path, HTTP_IF_NONE_MATCH=if_none_match)
                assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")

    def test_the_schema_says_which_reads_answer_304(self):
        paths = api_schema()["paths"]
        with_304 = {path for path, ops in paths.items() if "304" in ops.get("get", {}).get("responses", {})}
        assert with_304 == {"/api/v1/me", "/api/v1/creators/{handle}", "/api/v1/videos/{video_id}",
                            "/api/v1/cameos/{cameo_id}"}  # fmt: skip
        parameters = api_schema()["paths"]["/api/v1/me"]["get"]["parameters"]
        assert {"in": "header", "name": "If-None-Match"}.items() <= parameters[-1].items()

    def test_lists_and_writes_carry_no_etag(self, client_for, owner, paths):
        client = client_for(owner)
        assert not client.get("/api/v1/cameos").has_header("ETag")
        assert not client.patch("/api/v1/me", {"bio": "x"}, format="json").has_header("ETag")


# --- Absolute media URLs --------------------------------------------------------------------------------------


SITE = "https://api.remix.example"


def media_urls(body) -> list[str]:
    """Every URL of a file in a response body: the values of ``*_url`` and ``avatar`` keys, at any depth."""
    found = []
    if isinstance(body, dict):
        for key, value in body.items():
            if (key.endswith("_url") or key == "avatar") and isinstance(value, str):
                found.append(value)
            else:
                found += media_urls(value)
    elif isinstance(body, list):
        for item in body:
            found += media_urls(item)
    return found


class TestAbsoluteMediaURLs:
    @pytest.fixture
    def site(self, settings):
        # A public store whose base URL is a bare path still yields absolute URLs, under SITE_URL.
        settings.SITE_URL = SITE
        settings.STORAGES = {
            **settings.STORAGES,
            "public": {**settings.STORAGES["public"], "OPTIONS": {**settings.STORAGES["public"]["OPTIONS"],
                                                                  "base_url": "/media/public/"}},
        }  # fmt: skip

    def test_the_one_helper(self, site):
        assert media_file_url("videos/1/video.mp4", public=True) == f"{SITE}/media/public/videos/1/video.mp4"
        assert media_file_url("cameos/1/image.jpg", public=False).startswith(f"{SITE}/media/private/")
        assert media_file_url("", public=True) is None

    def test_every_media_url_of_every_read_is_absolute(self, site, client_for, monkeypatch):
        monkeypatch.setattr("feeds.tasks.feed_refill.delay", lambda **kwargs: None)
        monkeypatch.setattr("feeds.tasks.video_fanout.delay", lambda **kwargs: None)
        files = {"mp4": "videos/1/video.mp4", "hls": "videos/1/hls/master.m3u8", "poster": "videos/1/poster.jpg"}
        owner = UserFactory()
        owner.avatar.name = "avatars/owner.jpg"
        owner.save(update_fields=["avatar"])
        public = VideoFactory(owner=owner, **files)
        draft = VideoFactory(owner=owner, status="draft", published_at=None, **files)
        remix = video_services.video_create_draft(owner=owner, prompt="remix", parent=public)
        remix = video_services.video_publish(video=remix, by=owner)
        Video.objects.filter(id=remix.id).update(**files)  # as post-processing would have stored them
        cameo = CameoFactory(owner=owner, reference_image="cameos/1/image.jpg", voice_sample="cameos/1/voice.m4a")
        fan = UserFactory()
        creator_services.follow_create(follower=fan, followee=owner)
        notification_services.notify(recipient_id=fan.id, kind=Kind.GRANT_REQUESTED, key="grant:1",
                                      target_type="grant", target_id=1, deep_link="/", actor_id=owner.id)  # fmt: skip
        reads = {
            owner: ["/api/v1/me", f"/api/v1/videos/{draft.id}", f"/api/v1/cameos/{cameo.id}", "/api/v1/cameos"],
            fan: [
                f"/api/v1/creators/{owner.handle}", f"/api/v1/creators/{owner.handle}/videos",
                f"/api/v1/creators/{fan.handle}/following", f"/api/v1/videos/{public.id}",
                f"/api/v1/videos/{remix.id}/lineage", f"/api/v1/videos/{public.id}/remixes",
                "/api/v1/notifications", "/api/v1/feed?kind=following",
            ],
        }  # fmt: skip
        seen = []
        for viewer, paths in reads.items():
            for path in paths:
                response = client_for(viewer).get(path)
                assert response.status_code == 200, (path, response.content)
                urls = media_urls(response.json())
                assert urls, f"{path} names no media"
                seen += urls
        for url in seen:
            parts = urlsplit(url)
            assert (parts.scheme, parts.netloc) == ("https", "api.remix.example"), url
        assert any("/media/private/" in url for url in seen) and any("/media/public/" in url for url in seen)
