from __future__ import annotations

import secrets

import jwt
from django.conf import settings
from django.utils import translation
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.status import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.core.conditional import conditional_read
from backend.core.parsers import LimitedJSONParser
from backend.core.private_media import media_file_url
from backend.core.responses import created
from backend.core.schema import error_codes
from backend.creators import quotas, selectors, services
from backend.creators.models import Follow, User, handle_validator
from backend.creators.throttles import AccountRateThrottle

# --- Serializers -----------------------------------------------------------


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    handle = serializers.CharField(max_length=30, validators=[handle_validator])
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False)
    invite_code = serializers.CharField(max_length=32, required=False, allow_blank=True)


class TokenInput(serializers.Serializer):
    token = serializers.CharField(max_length=1000)


class PasswordChangeInput(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class EmailChangeInput(serializers.Serializer):
    new_email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=1000)


class ProfileUpdateInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=300, required=False, allow_blank=True)
    handle = serializers.CharField(max_length=30, required=False, validators=[handle_validator])
    birth_date = serializers.DateField(required=False)
    avatar = serializers.ImageField(required=False, allow_null=True)
    language = serializers.ChoiceField(choices=[code for code, _ in settings.LANGUAGES], required=False)


def _avatar_url(user: User) -> str | None:
    return media_file_url(user.avatar.name, public=True) if user.avatar else None


class CreatorOutput(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()
    video_count = serializers.IntegerField(read_only=True, default=0)
    is_following = serializers.SerializerMethodField()
    follows_you = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "handle",
            "display_name",
            "bio",
            "avatar_url",
            "follower_count",
            "following_count",
            "video_count",
            "is_following",
            "follows_you",
            "created_at",
        ]

    def get_avatar_url(self, user: User) -> str | None:
        return _avatar_url(user)

    def get_is_following(self, user: User) -> bool:
        return bool(getattr(user, "viewer_follows", False))

    def get_follows_you(self, user: User) -> bool:
        return bool(getattr(user, "follows_viewer", False))


class QuotasOutput(serializers.Serializer):
    max_render_seconds = serializers.IntegerField()
    daily_renders = serializers.IntegerField()
    renders_left_today = serializers.IntegerField()
    concurrent_renders = serializers.IntegerField()
    character_cameos = serializers.IntegerField()


class MeOutput(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()
    is_teen = serializers.BooleanField(read_only=True)
    email_verified = serializers.SerializerMethodField()
    quotas = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "email_verified",
            "language",
            "handle",
            "display_name",
            "bio",
            "avatar_url",
            "birth_date",
            "is_teen",
            "tier",
            "quotas",
            "follower_count",
            "following_count",
            "created_at",
        ]

    def get_avatar_url(self, user: User) -> str | None:
        return _avatar_url(user)

    def get_email_verified(self, user: User) -> bool:
        return user.email_verified_at is not None

    @extend_schema_field(QuotasOutput)
    def get_quotas(self, user: User) -> dict:
        return QuotasOutput(
            {
                **settings.TIER_QUOTAS[user.tier],
                "renders_left_today": quotas.allowance_left(user=user, allowance="daily_renders"),
            }
        ).data


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterOutput(serializers.Serializer):
    user = MeOutput()
    tokens = TokenPairOutput()


class FollowerOutput(serializers.ModelSerializer):
    creator = serializers.SerializerMethodField()

    class Meta:
        model = Follow
        fields = ["creator", "created_at"]

    @extend_schema_field(CreatorOutput)
    def get_creator(self, edge: Follow) -> dict:
        return CreatorOutput(getattr(edge, self.context["side"])).data


# --- Views -----------------------------------------------------------------


def _token_pair(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _unusable_token_pair(user: User) -> dict:
    """Tokens shaped like real ones for a sign-up that created nothing (a taken email): signed with a
    throwaway key, so they never authenticate, whoever later gets the id they name."""
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = user.id
    key = secrets.token_bytes(32)
    algorithm = api_settings.ALGORITHM
    return {
        "access": jwt.encode(refresh.access_token.payload, key, algorithm=algorithm),
        "refresh": jwt.encode(refresh.payload, key, algorithm=algorithm),
    }


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"
    throttle_classes = [*APIView.throttle_classes, AccountRateThrottle]

    @extend_schema(
        request=RegisterInput,
        responses={201: RegisterOutput},
        operation_id="auth_register",
        extensions=error_codes(
            {400: ["invite_required", "invite_invalid", "invite_expired", "invite_exhausted"], 409: ["account_taken"]}
        ),
        examples=[
            OpenApiExample(
                "Sign up",
                request_only=True,
                value={
                    "email": "maya@example.com",
                    "password": "correct horse battery staple",
                    "handle": "maya",
                    "display_name": "Maya",
                    "birth_date": "1998-04-12",
                },
            ),
            OpenApiExample(
                "Signed up",
                response_only=True,
                status_codes=["201"],
                value={
                    "user": {
                        "id": 41,
                        "email": "maya@example.com",
                        "email_verified": False,
                        "language": "en",
                        "handle": "maya",
                        "display_name": "Maya",
                        "bio": "",
                        "avatar_url": None,
                        "birth_date": "1998-04-12",
                        "is_teen": False,
                        "tier": "free",
                        "quotas": {
                            "max_render_seconds": 15,
                            "daily_renders": 2,
                            "concurrent_renders": 2,
                            "character_cameos": 3,
                            "renders_left_today": 2,
                        },
                        "follower_count": 0,
                        "following_count": 0,
                        "created_at": "2026-11-30T18:00:00Z",
                    },
                    "tokens": {"access": "eyJhbGciOiJIUzI1NiIs...", "refresh": "eyJhbGciOiJIUzI1NiIs..."},
                },
            ),
        ],
    )
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        language = translation.get_language_from_request(request)
        user = services.user_register(**data.validated_data, language=language)
        tokens = _unusable_token_pair(user) if user._state.adding else _token_pair(user)
        body = {"user": MeOutput(user).data, "tokens": tokens}
        return created(request, body, view_name="me")


class TokenView(TokenObtainPairView):
    """Email and password for a JWT pair. Signing in while the account's deletion is pending (the grace
    period) restores it first; an account inactive for any other reason stays refused."""

    throttle_scope = "auth"
    throttle_classes = [*APIView.throttle_classes, AccountRateThrottle]

    @extend_schema(
        extensions=error_codes({401: ["no_active_account"]}),
        examples=[
            OpenApiExample(
                "Sign in",
                request_only=True,
                value={"email": "maya@example.com", "password": "correct horse battery staple"},
            ),
            OpenApiExample(
                "A token pair",
                response_only=True,
                value={"access": "eyJhbGciOiJIUzI1NiIs...", "refresh": "eyJhbGciOiJIUzI1NiIs..."},
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, dict) else {}  # the parent answers 400 to the rest
        email, password = data.get("email"), data.get("password")
        if isinstance(email, str) and isinstance(password, str):
            services.account_restore_on_sign_in(email=email, password=password)
        return super().post(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(extensions=error_codes({401: ["token_not_valid"]})))
class TokenRefreshOnceView(TokenRefreshView):
    """A refresh token for a new pair; the old refresh token stops working."""

    throttle_scope = "auth"


class _AuthView(APIView):
    throttle_scope = "auth"


class _AnonymousAuthView(_AuthView):
    """The token in the body is the credential: a signed-out app (or a browser) follows mailed links."""

    permission_classes = [AllowAny]
    authentication_classes: list = []


def _input(serializer_class, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class EmailVerifyView(_AnonymousAuthView):
    """The token from the verification mail; the account may then publish, create cameos and ask for them."""

    @extend_schema(request=TokenInput, responses={204: None}, operation_id="auth_verify_email")
    def post(self, request):
        services.email_verify(**_input(TokenInput, request))
        return Response(status=HTTP_204_NO_CONTENT)


class EmailVerifyResendView(_AuthView):
    @extend_schema(request=None, responses={202: None}, operation_id="auth_verify_email_resend")
    def post(self, request):
        services.email_verification_resend(user=request.user)
        return Response(status=HTTP_202_ACCEPTED)


class PasswordChangeView(_AuthView):
    """Every other session ends (its refresh token is blacklisted); the answer is the caller's new pair."""

    @extend_schema(request=PasswordChangeInput, responses=TokenPairOutput, operation_id="auth_password_change")
    def post(self, request):
        user = services.password_change(user=request.user, **_input(PasswordChangeInput, request))
        return Response(_token_pair(user))


class PasswordResetView(_AnonymousAuthView):
    """Always 202, whether or not an account has the address; if one has, it gets a link."""

    throttle_classes = [*APIView.throttle_classes, AccountRateThrottle]

    @extend_schema(request=PasswordResetInput, responses={202: None}, operation_id="auth_password_reset")
    def post(self, request):
        services.password_reset_request(**_input(PasswordResetInput, request))
        return Response(status=HTTP_202_ACCEPTED)


class PasswordResetConfirmView(_AnonymousAuthView):
    """The uid and token from the reset mail, and the new password; every session of the account ends."""

    @extend_schema(request=PasswordResetConfirmInput, responses={204: None}, operation_id="auth_password_reset_confirm")
    def post(self, request):
        services.password_reset_confirm(**_input(PasswordResetConfirmInput, request))
        return Response(status=HTTP_204_NO_CONTENT)


class EmailChangeView(_AuthView):
    """Always 202: the new address gets a confirmation link (or, if taken, its owner a notice), the
    current one a notice."""

    @extend_schema(request=EmailChangeInput, responses={202: None}, operation_id="auth_email_change")
    def post(self, request):
        services.email_change_request(user=request.user, **_input(EmailChangeInput, request))
        return Response(status=HTTP_202_ACCEPTED)


class EmailChangeConfirmView(_AnonymousAuthView):
    @extend_schema(request=TokenInput, responses={204: None}, operation_id="auth_email_change_confirm")
    def post(self, request):
        services.email_change_confirm(**_input(TokenInput, request))
        return Response(status=HTTP_204_NO_CONTENT)


class LogoutView(_AnonymousAuthView):
    """Blacklists the refresh token: it mints no new access tokens (those already given expire within minutes)."""

    @extend_schema(request=LogoutInput, responses={204: None}, operation_id="auth_logout")
    def post(self, request):
        services.refresh_token_blacklist(**_input(LogoutInput, request))
        return Response(status=HTTP_204_NO_CONTENT)


class LogoutEverywhereView(_AuthView):
    """Blacklists every outstanding refresh token of the caller: every device signs in again."""

    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout_everywhere")
    def post(self, request):
        services.refresh_tokens_blacklist(user=request.user)
        return Response(status=HTTP_204_NO_CONTENT)


class MeView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=MeOutput)
    @conditional_read
    def get(self, request):
        return Response(MeOutput(request.user).data)

    @extend_schema(request=ProfileUpdateInput, responses=MeOutput)
    def patch(self, request):
        data = ProfileUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user=request.user, **data.validated_data)
        return Response(MeOutput(user).data)


class CreatorView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CreatorOutput)
    @conditional_read
    def get(self, request, handle: str):
        return Response(CreatorOutput(selectors.creator_get(viewer=request.user, handle=handle)).data)


class FollowView(APIView):
    @extend_schema(request=None, responses=CreatorOutput, extensions=error_codes({400: ["cannot_follow_self"]}))
    def post(self, request, handle: str):
        followee = selectors.creator_for_relationship(viewer=request.user, handle=handle)
        services.follow_create(follower=request.user, followee=followee)
        return Response(CreatorOutput(selectors.creator_get(viewer=request.user, handle=handle)).data)

    @extend_schema(request=None, responses={200: CreatorOutput})
    def delete(self, request, handle: str):
        followee = selectors.creator_for_relationship(viewer=request.user, handle=handle)
        services.follow_delete(follower=request.user, followee=followee)
        return Response(CreatorOutput(selectors.creator_get(viewer=request.user, handle=handle)).data)


BlockOutput = inline_serializer(
    "BlockState", {"handle": serializers.CharField(), "blocked": serializers.BooleanField()}
)


class BlockView(APIView):
    @extend_schema(request=None, responses=BlockOutput, extensions=error_codes({400: ["cannot_block_self"]}))
    def post(self, request, handle: str):
        blocked = selectors.creator_for_relationship(viewer=request.user, handle=handle)
        services.block_create(blocker=request.user, blocked=blocked)
        return Response({"handle": blocked.handle, "blocked": True})

    @extend_schema(request=None, responses={200: BlockOutput})
    def delete(self, request, handle: str):
        blocked = selectors.creator_for_relationship(viewer=request.user, handle=handle)
        services.block_delete(blocker=request.user, blocked=blocked)
        return Response({"handle": blocked.handle, "blocked": False})


class _FollowEdgesView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = FollowerOutput
    queryset = Follow.objects.none()  # for the schema; get_queryset gives the real one
    side: str

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "side": self.side}


class FollowersView(_FollowEdgesView):
    side = "follower"

    def get_queryset(self):
        creator = selectors.creator_get(viewer=self.request.user, handle=self.kwargs["handle"])
        return selectors.followers_of(viewer=self.request.user, creator=creator)


class FollowingView(_FollowEdgesView):
    side = "followee"

    def get_queryset(self):
        creator = selectors.creator_get(viewer=self.request.user, handle=self.kwargs["handle"])
        return selectors.following_of(viewer=self.request.user, creator=creator)
