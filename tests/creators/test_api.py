import io

import pytest
from django.urls import reverse
from PIL import Image

from backend.creators import services
from backend.creators.models import User
from tests.factories import PASSWORD, InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
ME = "/api/v1/me"


def creator_url(handle, action=""):
    return f"/api/v1/creators/{handle}" + (f"/{action}" if action else "")


def sign_up(api_client, **overrides):
    body = {"email": "ana@example.com", "password": "violet-lantern-orbit-42", "handle": "ana"} | overrides
    return api_client.post(REGISTER, body, format="json")


class TestRegister:
    def test_sign_up_returns_the_profile_and_a_working_token_pair(self, api_client):
        response = sign_up(api_client)
        assert response.status_code == 201
        assert response.data["user"]["handle"] == "ana"
        assert response.data["user"]["tier"] == "free"
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['tokens']['access']}")
        assert api_client.get(ME).data["email"] == "ana@example.com"

    def test_duplicate_handle_is_a_validation_error_in_the_envelope(self, api_client):
        sign_up(api_client)
        response = sign_up(api_client, email="other@example.com", handle="Ana")
        assert response.status_code == 400
        assert response.data["error"]["code"] == "invalid"
        assert response.data["error"]["details"]["handle"] == ["This handle is taken."]

    def test_weak_password_is_refused(self, api_client):
        response = sign_up(api_client, password="12345")
        assert response.status_code == 400
        assert "password" in response.data["error"]["details"]
        assert not User.objects.exists()

    @pytest.mark.parametrize("handle", ["ab", "has space", "dots..twice", ".leading", "x" * 31, "emoji😀"])
    def test_malformed_handles_are_refused(self, api_client, handle):
        response = sign_up(api_client, handle=handle)
        assert response.status_code == 400
        assert "handle" in response.data["error"]["details"]

    def test_wrong_types_are_refused(self, api_client):
        response = api_client.post(REGISTER, {"email": 5, "password": ["x"], "handle": {"a": 1}}, format="json")
        assert response.status_code == 400
        assert set(response.data["error"]["details"]) >= {"email", "password", "handle"}

    def test_invite_only_requires_a_valid_code(self, api_client, settings):
        settings.INVITE_ONLY = True
        refused = sign_up(api_client)
        assert refused.status_code == 400
        assert refused.data["error"]["code"] == "invite_required"
        invite = InviteCodeFactory()
        assert sign_up(api_client, invite_code=invite.code).status_code == 201
        used_up = sign_up(api_client, email="b@example.com", handle="bea", invite_code=invite.code)
        assert used_up.data["error"]["code"] == "invite_exhausted"


class TestTokens:
    def test_token_pair_for_email_and_password_any_case(self, api_client, user):
        response = api_client.post(TOKEN, {"email": user.email.upper(), "password": PASSWORD}, format="json")
        assert response.status_code == 200
        assert {"access", "refresh"} <= set(response.data)

    def test_wrong_password_is_401_in_the_envelope(self, api_client, user):
        response = api_client.post(TOKEN, {"email": user.email, "password": "wrong-password"}, format="json")
        assert response.status_code == 401
        assert response.data["error"]["code"] == "no_active_account"

    def test_refresh_gives_a_new_pair_and_a_replayed_refresh_token_is_refused(self, api_client, user):
        pair = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json").data
        refreshed = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
        assert refreshed.status_code == 200
        assert refreshed.data["refresh"] != pair["refresh"]
        replay = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
        assert replay.status_code == 401
        assert replay.data["error"]["code"] == "token_not_valid"

    def test_an_expired_or_forged_access_token_is_refused(self, api_client, user, settings):
        from datetime import timedelta

        from rest_framework_simplejwt.tokens import AccessToken

        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        expired = api_client.get(ME)
        assert expired.status_code == 401
        assert expired.data["error"]["code"] == "token_not_valid"
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
        assert api_client.get(ME).status_code == 401


class TestMe:
    def test_anonymous_is_401(self, api_client):
        response = api_client.get(ME)
        assert response.status_code == 401
        assert response.data["error"]["code"] == "not_authenticated"

    def test_shows_tier_and_quotas(self, client_for, user, settings):
        body = client_for(user).get(ME).data
        assert body["tier"] == "free"
        assert body["quotas"]["max_render_seconds"] == settings.TIER_QUOTAS["free"]["max_render_seconds"]
        assert body["quotas"]["renders_left_today"] == settings.TIER_QUOTAS["free"]["daily_renders"]

    def test_patch_profile_and_birth_date_sets_teen_flag(self, client_for, user):
        from django.utils import timezone

        fifteen = timezone.localdate().replace(year=timezone.localdate().year - 15)
        response = client_for(user).patch(
            ME, {"display_name": "New", "bio": "hi", "birth_date": fifteen.isoformat()}, format="json"
        )
        assert response.status_code == 200
        assert (response.data["display_name"], response.data["is_teen"]) == ("New", True)

    def test_tier_cannot_be_self_upgraded(self, client_for, user):
        response = client_for(user).patch(ME, {"tier": "pro"}, format="json")
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.tier == "free"

    def test_avatar_upload_and_bad_image(self, client_for, user):
        client = client_for(user)
        buffer = io.BytesIO()
        Image.new("RGB", (300, 200), "blue").save(buffer, format="PNG")
        buffer.name = "me.png"
        buffer.seek(0)
        ok = client.patch(ME, {"avatar": buffer}, format="multipart")
        assert ok.status_code == 200
        assert ok.data["avatar_url"].endswith(".jpg")
        served = client.get(ok.data["avatar_url"])
        assert served.status_code == 200
        bad = io.BytesIO(b"GIF89a but not really")
        bad.name = "me.gif"
        refused = client.patch(ME, {"avatar": bad}, format="multipart")
        assert refused.status_code == 400
        assert "avatar" in refused.data["error"]["details"]

    def test_body_too_large_is_413(self, client_for, user, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = client_for(user).patch(ME, {"bio": "x" * 5000}, format="json")
        assert response.status_code == 413
        assert response.data["error"]["code"] == "payload_too_large"


class TestCreators:
    def test_public_profile_with_counts(self, api_client):
        ana, bea = UserFactory(handle="ana"), UserFactory()
        services.follow_create(follower=bea, followee=ana)
        from tests.factories import VideoFactory

        VideoFactory(owner=ana)
        VideoFactory(owner=ana, status="draft")
        body = api_client.get(creator_url("ANA")).data
        assert (body["handle"], body["follower_count"], body["following_count"], body["video_count"]) == (
            "ana",
            1,
            0,
            1,
        )

    def test_unknown_handle_is_404_envelope(self, api_client):
        response = api_client.get(creator_url("nobody"))
        assert response.status_code == 404
        assert response.data["error"]["code"] == "not_found"

    def test_follow_and_unfollow(self, client_for):
        ana, bea = UserFactory(), UserFactory()
        client = client_for(ana)
        followed = client.post(creator_url(bea.handle, "follow"))
        assert (followed.status_code, followed.data["is_following"], followed.data["follower_count"]) == (200, True, 1)
        assert client.post(creator_url(bea.handle, "follow")).data["follower_count"] == 1
        unfollowed = client.delete(creator_url(bea.handle, "follow"))
        assert (unfollowed.data["is_following"], unfollowed.data["follower_count"]) == (False, 0)

    def test_follow_needs_login(self, api_client, user):
        assert api_client.post(creator_url(user.handle, "follow")).status_code == 401

    def test_follow_self_is_refused(self, client_for, user):
        response = client_for(user).post(creator_url(user.handle, "follow"))
        assert (response.status_code, response.data["error"]["code"]) == (400, "cannot_follow_self")

    def test_block_hides_each_from_the_other_and_unblock_restores(self, client_for):
        ana, bea = UserFactory(), UserFactory()
        services.follow_create(follower=bea, followee=ana)
        ana_client, bea_client = client_for(ana), client_for(bea)
        assert ana_client.post(creator_url(bea.handle, "block")).data == {"handle": bea.handle, "blocked": True}
        assert bea_client.get(creator_url(ana.handle)).status_code == 404
        assert ana_client.get(creator_url(bea.handle)).status_code == 404
        assert bea_client.post(creator_url(ana.handle, "follow")).status_code == 404
        assert client_for(ana).get(creator_url(ana.handle)).data["follower_count"] == 0
        ana_client.delete(creator_url(bea.handle, "block"))
        assert bea_client.get(creator_url(ana.handle)).status_code == 200

    def test_followers_and_following_lists_are_paginated_by_cursor(self, api_client):
        star = UserFactory()
        fans = [UserFactory() for _ in range(25)]
        for fan in fans:
            services.follow_create(follower=fan, followee=star)
        first = api_client.get(creator_url(star.handle, "followers")).data
        assert len(first["results"]) == 20
        second = api_client.get(creator_url(star.handle, "followers"), {"cursor": first["next"]}).data
        assert second["next"] is None
        handles = {edge["creator"]["handle"] for edge in first["results"] + second["results"]}
        assert handles == {fan.handle for fan in fans}
        following = api_client.get(creator_url(fans[0].handle, "following")).data["results"]
        assert [edge["creator"]["handle"] for edge in following] == [star.handle]

    def test_reverse_names_resolve(self):
        assert reverse("creator-follow", kwargs={"handle": "ana"}) == "/api/v1/creators/ana/follow"
