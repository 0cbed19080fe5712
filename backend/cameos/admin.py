from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from backend.cameos import services
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.core.errors import DomainError
from backend.core.private_media import private_media_url


@admin.register(Cameo)
class CameoAdmin(admin.ModelAdmin):
    list_display = ["display_name", "owner", "kind", "status", "audience", "verified_at", "created_at"]
    list_filter = ["status", "audience", "kind", "created_at"]
    search_fields = ["display_name", "owner__handle", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "protected_likeness"]
    readonly_fields = [
        "status",
        "verified_at",
        "reference_image",
        "reference_clip",
        "voice_sample",
        "created_at",
        "updated_at",
    ]
    actions = ["suspend"]

    @admin.action(description="Suspend the selected cameos (cancels their renders)")
    def suspend(self, request, queryset):
        for cameo in queryset:
            services.cameo_suspend(cameo=cameo, by=request.user, reason="suspended by a moderator in the admin")
        self.message_user(request, f"{queryset.count()} cameo(s) suspended.")


@admin.register(CameoVerification)
class CameoVerificationAdmin(admin.ModelAdmin):
    """The verification queue: watch the clip, compare with the phrase, approve or reject."""

    list_display = ["cameo", "owner", "phrase", "status", "submitted_at", "clip_duration_s", "verifier"]
    list_filter = ["status", "verifier", "submitted_at"]
    search_fields = ["cameo__display_name", "cameo__owner__handle", "phrase"]
    list_select_related = ["cameo__owner"]
    ordering = ["submitted_at"]
    readonly_fields = [
        "cameo",
        "phrase",
        "expires_at",
        "status",
        "clip_player",
        "clip_duration_s",
        "clip_width",
        "clip_height",
        "submitted_at",
        "verifier",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    ]
    fields = readonly_fields
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The queue shows what waits for a decision unless a status filter is chosen.
        if "status__exact" not in request.GET:
            queryset = queryset.filter(status=CameoVerification.Status.SUBMITTED)
        return queryset

    def has_add_permission(self, request):
        return False

    @admin.display(description="owner")
    def owner(self, verification):
        return verification.cameo.owner

    @admin.display(description="clip")
    def clip_player(self, verification):
        if not verification.clip:
            return "-"
        return format_html('<video src="{}" controls width="360"></video>', private_media_url(verification.clip))

    def _decide(self, request, queryset, decide, verb):
        done = 0
        for verification in queryset:
            try:
                decide(verification)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{verification}: {error.detail}", level=messages.WARNING)
        self.message_user(request, f"{done} verification(s) {verb}.")

    @admin.action(description="Approve: the clip shows this person saying the phrase")
    def approve(self, request, queryset):
        self._decide(
            request, queryset, lambda v: services.verification_approve(verification=v, by=request.user), "approved"
        )

    @admin.action(description="Reject the selected clips")
    def reject(self, request, queryset):
        note = f"rejected by a moderator on {timezone.localdate()}"
        self._decide(
            request,
            queryset,
            lambda v: services.verification_reject(verification=v, by=request.user, note=note),
            "rejected",
        )


@admin.register(CameoGrant)
class CameoGrantAdmin(admin.ModelAdmin):
    list_display = ["cameo", "grantee", "status", "requested_at", "decided_at", "revoked_at"]
    list_filter = ["status", "requested_at"]
    search_fields = ["cameo__display_name", "grantee__handle", "cameo__owner__handle"]
    list_select_related = ["cameo__owner", "grantee"]
    raw_id_fields = ["cameo", "grantee"]
    readonly_fields = ["status", "requested_at", "decided_at", "revoked_at"]


@admin.register(Appearance)
class AppearanceAdmin(admin.ModelAdmin):
    list_display = ["cameo", "video", "created_at", "removed_by_owner_at"]
    list_filter = ["created_at", "removed_by_owner_at"]
    search_fields = ["cameo__display_name", "cameo__owner__handle", "video__owner__handle"]
    list_select_related = ["cameo__owner", "video"]
    raw_id_fields = ["cameo", "video"]


@admin.register(ProtectedLikeness)
class ProtectedLikenessAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "requested_by", "requested_on", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "aliases", "requested_by"]
