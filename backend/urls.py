from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from health_check.views import HealthCheckView

from backend.cameos import api as cameos_api
from backend.core.converters import HandleConverter, HashtagConverter
from backend.core.errors import api_not_found_view
from backend.core.health import ReadinessView
from backend.core.metrics import metrics_view
from backend.core.private_media import private_media_view, public_media_view
from backend.creators import api as creators_api
from backend.moderation import api as moderation_api
from backend.rights import api as rights_api
from backend.videos import api as videos_api
from data_rights import api as data_rights_api
from feeds import api as feeds_api
from media import api as media_api
from notifications import api as notifications_api
from notifications import devices as notifications_devices
from search import api as search_api

register_converter(HandleConverter, "handle")
register_converter(HashtagConverter, "hashtag")

# Django tries the patterns in order: the most requested routes come first.
api_v1 = [
    path("feed", feeds_api.FeedView.as_view(), name="feed"),
    path("feed/events", feeds_api.FeedEventsView.as_view(), name="feed-events"),
    path("feed/preferences", feeds_api.FeedPreferencesView.as_view(), name="feed-preferences"),
    path("search", search_api.SearchView.as_view(), name="search"),
    path("search/suggest", search_api.SuggestView.as_view(), name="search-suggest"),
    path("discover", search_api.DiscoverView.as_view(), name="discover"),
    path(
        "discover/challenges/<hashtag:name>/leaderboard",
        search_api.ChallengeLeaderboardView.as_view(),
        name="discover-challenge-leaderboard",
    ),
    path("auth/register", creators_api.RegisterView.as_view(), name="auth-register"),
    path("auth/token", creators_api.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", creators_api.TokenRefreshOnceView.as_view(), name="auth-token-refresh"),
    path("auth/logout", creators_api.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-everywhere", creators_api.LogoutEverywhereView.as_view(), name="auth-logout-everywhere"),
    path("auth/verify-email", creators_api.EmailVerifyView.as_view(), name="auth-verify-email"),
    path("auth/verify-email/resend", creators_api.EmailVerifyResendView.as_view(), name="auth-verify-email-resend"),
    path("auth/password", creators_api.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/password/reset", creators_api.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm",
        creators_api.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/email", creators_api.EmailChangeView.as_view(), name="auth-email"),
    path("auth/email/confirm", creators_api.EmailChangeConfirmView.as_view(), name="auth-email-confirm"),
    path("me", data_rights_api.MeView.as_view(), name="me"),
    path("me/exports", data_rights_api.ExportListCreateView.as_view(), name="me-exports"),
    path(
        "me/exports/<int:export_id>/download", data_rights_api.ExportDownloadView.as_view(), name="me-export-download"
    ),
    path("creators/<handle:handle>", creators_api.CreatorView.as_view(), name="creator"),
    path("creators/<handle:handle>/follow", creators_api.FollowView.as_view(), name="creator-follow"),
    path("creators/<handle:handle>/block", creators_api.BlockView.as_view(), name="creator-block"),
    path("creators/<handle:handle>/followers", creators_api.FollowersView.as_view(), name="creator-followers"),
    path("creators/<handle:handle>/following", creators_api.FollowingView.as_view(), name="creator-following"),
    path("creators/<handle:handle>/videos", videos_api.CreatorVideosView.as_view(), name="creator-videos"),
    path("cameos", cameos_api.CameoListCreateView.as_view(), name="cameos"),
    path("cameos/available", cameos_api.CameoAvailableView.as_view(), name="cameos-available"),
    path("cameos/<int:cameo_id>", cameos_api.CameoDetailView.as_view(), name="cameo"),
    path("cameos/<int:cameo_id>/verification", cameos_api.CameoVerificationView.as_view(), name="cameo-verification"),
    path("cameos/<int:cameo_id>/grants", cameos_api.CameoGrantsView.as_view(), name="cameo-grants"),
    *(
        path(
            f"cameos/<int:cameo_id>/grants/<int:grant_id>/{decision}",
            cameos_api.GrantDecisionView.as_view(decision=decision),
            name=f"cameo-grant-{decision}",
        )
        for decision in ("approve", "deny", "revoke")
    ),
    path("cameos/<int:cameo_id>/appearances", cameos_api.CameoAppearancesView.as_view(), name="cameo-appearances"),
    path(
        "cameos/<int:cameo_id>/appearances/<int:video_id>",
        cameos_api.CameoAppearanceDetailView.as_view(),
        name="cameo-appearance",
    ),
    path("renders", media_api.RenderListCreateView.as_view(), name="renders"),
    path("renders/<uuid:render_id>", media_api.RenderDetailView.as_view(), name="render"),
    path("renders/<uuid:render_id>/cancel", media_api.RenderCancelView.as_view(), name="render-cancel"),
    path("videos/<int:video_id>", videos_api.VideoDetailView.as_view(), name="video"),
    path("videos/<int:video_id>/publish", videos_api.VideoPublishView.as_view(), name="video-publish"),
    path("videos/<int:video_id>/remix", media_api.VideoRemixView.as_view(), name="video-remix"),
    path("videos/<int:video_id>/lineage", videos_api.VideoLineageView.as_view(), name="video-lineage"),
    path("videos/<int:video_id>/remixes", videos_api.VideoRemixesView.as_view(), name="video-remixes"),
    path("videos/<int:video_id>/like", videos_api.VideoLikeView.as_view(), name="video-like"),
    path("videos/<int:video_id>/comments", videos_api.VideoCommentsView.as_view(), name="video-comments"),
    path(
        "videos/<int:video_id>/comments/<int:comment_id>",
        videos_api.CommentDetailView.as_view(),
        name="video-comment",
    ),
    path("webhooks/cog/<str:prediction_id>", media_api.CogWebhookView.as_view(), name="cog-webhook"),
    path("webhooks/replicate", media_api.ReplicateWebhookView.as_view(), name="replicate-webhook"),
    path("uploads/cog/<str:token>/<str:filename>", media_api.CogUploadView.as_view(), name="cog-upload"),
    path("uploads", cameos_api.UploadsView.as_view(), name="uploads"),
    path("uploads/<uuid:upload_id>", cameos_api.UploadDetailView.as_view(), name="upload"),
    path("uploads/<uuid:upload_id>/complete", cameos_api.UploadCompleteView.as_view(), name="upload-complete"),
    path("uploads/<uuid:upload_id>/file", cameos_api.UploadFileView.as_view(), name="upload-file"),
    path("reports", moderation_api.ReportView.as_view(), name="reports"),
    path("reports/<int:report_id>", moderation_api.ReportDetailView.as_view(), name="report"),
    path("provenance/lookup", media_api.ProvenanceLookupView.as_view(), name="provenance-lookup"),
    path("characters", rights_api.CharacterListView.as_view(), name="characters"),
    path("rights/statements", rights_api.StatementView.as_view(), name="rights-statements"),
    path("hashtags/<hashtag:name>", videos_api.HashtagVideosView.as_view(), name="hashtag"),
    path("notifications", notifications_api.NotificationListView.as_view(), name="notifications"),
    path("notifications/read", notifications_api.NotificationsReadView.as_view(), name="notifications-read"),
    path(
        "notifications/<int:notification_id>/read",
        notifications_api.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path(
        "notifications/preferences",
        notifications_api.NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
    path("devices", notifications_devices.DeviceListView.as_view(), name="devices"),
    path("devices/<str:token>", notifications_devices.DeviceView.as_view(), name="device"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("healthz", HealthCheckView.as_view(checks=[]), name="healthz"),
    path("readyz", ReadinessView.as_view(), name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("media/private/<str:token>", private_media_view, name="private-media"),
]

if not settings.S3_BUCKET:
    # Local-disk mode: public renditions and avatars are served by Django itself.
    urlpatterns.append(re_path(r"^media/public/(?P<path>.*)$", public_media_view, name="public-media"))

# Last: any other /api/ path is a 404 in the envelope. Without it, DEBUG answers Django's HTML
# debug 404 (handler404 is only used with DEBUG off).
urlpatterns.append(re_path(r"^api/", api_not_found_view, name="api-not-found"))

handler400 = "backend.core.errors.bad_request_view"
handler403 = "backend.core.errors.permission_denied_view"
handler404 = "backend.core.errors.not_found_view"
handler500 = "backend.core.errors.server_error_view"
