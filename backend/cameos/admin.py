"""What moderators see of cameos. Every change of state goes through the services.

Cameos, grants, verifications and appearances are not added, edited or deleted
here by hand (that would skip consent events, takedowns and the audit log);
moderators act with the list actions. A cameo is linked to a protected likeness
only by approving its verification as that person.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backend.cameos import selectors, services
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.core.admin import ServiceActionsOnly, run_each
from backend.core.errors import DomainError
from backend.core.private_media import private_media_url


def _player(name: str, tag: str) -> str:
    if not name:
        return "-"
    if tag == "img":
        return format_html('<img src="{}" style="max-width:240px;max-height:240px">', private_media_url(name))
    return format_html('<{} src="{}" controls preload="metadata" width="360"></{}>', tag, private_media_url(name), tag)


@admin.register(Cameo)
class CameoAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["display_name", "owner", "kind", "status", "audience", "verified_at", "created_at"]
    list_filter = ["status", "audience", "kind", "created_at"]
    search_fields = ["display_name", "owner__handle", "owner__email"]
    list_select_related = ["owner"]
    fields = [
        "owner",
        "kind",
        "display_name",
        "status",
        "status_reason",
        "audience",
        "appearance_notes",
        "restrictions",
        "protected_likeness",
        "verified_at",
        "reference_image_preview",
        "reference_clip_player",
        "voice_sample_player",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["suspend", "restore"]

    @admin.display(description="reference image")
    def reference_image_preview(self, cameo):
        return _player(cameo.reference_image, "img")

    @admin.display(description="reference clip")
    def reference_clip_player(self, cameo):
        return _player(cameo.reference_clip, "video")

    @admin.display(description="voice sample")
    def voice_sample_player(self, cameo):
        return _player(cameo.voice_sample, "audio")

    @admin.action(description="Suspend the selected cameos (cancels their renders)", permissions=["moderate"])
    def suspend(self, request, queryset):
        reason = "suspended by a moderator in the admin"
        run_each(self, request, queryset, lambda c: services.cameo_suspend(cameo=c, by=request.user, reason=reason),
                 "suspended")  # fmt: skip

    @admin.action(description="Lift the suspension of the selected cameos", permissions=["moderate"])
    def restore(self, request, queryset):
        reason = "restored by a moderator in the admin"
        run_each(self, request, queryset, lambda c: services.cameo_restore(cameo=c, by=request.user, reason=reason),
                 "restored")  # fmt: skip


class VerificationQueueFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision; other states are one click away."""

    title = "status"
    parameter_name = "queue"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*CameoVerification.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or CameoVerification.Status.SUBMITTED

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())


@admin.register(CameoVerification)
class CameoVerificationAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """The verification queue: watch the clip, compare with the phrase, approve or reject."""

    list_display = ["cameo", "owner", "phrase", "status", "submitted_at", "clip_duration_s", "protected_name"]
    list_filter = [VerificationQueueFilter, "verifier", "submitted_at"]
    search_fields = ["cameo__display_name", "cameo__owner__handle", "phrase"]
    list_select_related = ["cameo__owner"]
    ordering = ["submitted_at", "id"]
    readonly_fields = [
        "cameo",
        "owner",
        "phrase",
        "protected_name",
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
    actions = ["approve", "approve_as_protected", "reject"]

    @admin.display(description="owner")
    def owner(self, verification):
        return verification.cameo.owner

    @admin.display(description="name is protected")
    def protected_name(self, verification):
        likeness = selectors.protected_likeness_match(text=verification.cameo.display_name)
        return likeness.name if likeness else "-"

    @admin.display(description="clip")
    def clip_player(self, verification):
        return _player(verification.clip, "video")

    @admin.action(description="Approve: the clip shows this person saying the phrase", permissions=["moderate"])
    def approve(self, request, queryset):
        run_each(self, request, queryset, lambda v: services.verification_approve(verification=v, by=request.user),
                 "approved")  # fmt: skip

    @admin.action(
        description="Approve as the protected person the cameo's name matches (identity checked)",
        permissions=["moderate"],
    )
    def approve_as_protected(self, request, queryset):
        def approve(verification):
            likeness = selectors.protected_likeness_match(text=verification.cameo.display_name)
            if likeness is None:
                raise DomainError(_("The cameo's name matches no protected likeness; use Approve."))
            services.verification_approve(verification=verification, by=request.user, protected_likeness=likeness)

        run_each(self, request, queryset, approve, "approved")

    @admin.action(description="Reject the selected clips", permissions=["moderate"])
    def reject(self, request, queryset):
        note = f"rejected by a moderator on {timezone.localdate()}"

        def reject(verification):
            services.verification_reject(verification=verification, by=request.user, note=note)

        run_each(self, request, queryset, reject, "rejected")


@admin.register(CameoGrant)
class CameoGrantAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["cameo", "grantee", "status", "requested_at", "decided_at", "revoked_at"]
    list_filter = ["status", "requested_at"]
    search_fields = ["cameo__display_name", "grantee__handle", "cameo__owner__handle"]
    list_select_related = ["cameo__owner", "grantee"]
    readonly_fields = ["cameo", "grantee", "status", "requested_at", "decided_at", "revoked_at"]
    fields = readonly_fields


@admin.register(Appearance)
class AppearanceAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """Take a video down from the videos admin (audited); appearances themselves are a record."""

    list_display = ["cameo", "video", "video_status", "created_at", "removed_by_owner_at"]
    list_filter = ["created_at", "removed_by_owner_at", "video__status"]
    search_fields = ["cameo__display_name", "cameo__owner__handle", "video__owner__handle"]
    list_select_related = ["cameo__owner", "video"]
    readonly_fields = ["cameo", "video", "created_at", "removed_by_owner_at"]
    fields = readonly_fields

    @admin.display(description="video status")
    def video_status(self, appearance):
        return appearance.video.status


@admin.register(ProtectedLikeness)
class ProtectedLikenessAdmin(admin.ModelAdmin):
    """Public figures and estates that opted out; a name or alias here is refused in prompts and cameo names."""

    list_display = ["name", "kind", "requested_by", "requested_on", "is_active", "verified_person", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "aliases", "requested_by"]
    fields = ["name", "aliases", "exceptions", "kind", "requested_by", "requested_on", "note", "is_active"]

    def has_delete_permission(self, request, obj=None):
        return False  # it would unlink the person's verified cameo; clear "is active" instead

    @admin.display(description="verified cameo")
    def verified_person(self, likeness):
        cameo = likeness.verified_cameos.filter(status=Cameo.Status.ACTIVE).select_related("owner").first()
        return f"@{cameo.owner.handle}" if cameo else "-"
