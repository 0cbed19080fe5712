from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from health_check.views import HealthCheckView
from redis.asyncio import Redis

from backend.creators import api as creators_api

api_v1 = [
    path("auth/register", creators_api.RegisterView.as_view(), name="auth-register"),
    path("auth/token", creators_api.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", creators_api.TokenRefreshOnceView.as_view(), name="auth-token-refresh"),
    path("me", creators_api.MeView.as_view(), name="me"),
    path("creators/<str:handle>", creators_api.CreatorView.as_view(), name="creator"),
    path("creators/<str:handle>/follow", creators_api.FollowView.as_view(), name="creator-follow"),
    path("creators/<str:handle>/block", creators_api.BlockView.as_view(), name="creator-block"),
    path("creators/<str:handle>/followers", creators_api.FollowersView.as_view(), name="creator-followers"),
    path("creators/<str:handle>/following", creators_api.FollowingView.as_view(), name="creator-following"),
]

readiness_checks = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
    ("health_check.contrib.redis.Redis", {"client_factory": lambda: Redis.from_url(settings.REDIS_URL)}),
    ("health_check.checks.Storage", {"alias": "default"}),
    ("health_check.checks.Storage", {"alias": "public"}),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("healthz", HealthCheckView.as_view(checks=[]), name="healthz"),
    path("readyz", HealthCheckView.as_view(checks=readiness_checks), name="readyz"),
]

if not settings.S3_BUCKET:
    # Local-disk mode: public renditions and avatars are served by Django itself.
    urlpatterns.append(
        re_path(r"^media/public/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT / "public"})
    )

handler400 = "backend.core.errors.bad_request_view"
handler403 = "backend.core.errors.permission_denied_view"
handler404 = "backend.core.errors.not_found_view"
handler500 = "backend.core.errors.server_error_view"
