from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from backend.cameos import services as cameo_services
from backend.core.admin import IndexedSearch, ReasonActionForm, ServiceActionsOnly
from backend.core.errors import DomainError
from backend.core.models import AuditLogEntry
from backend.core.private_media import media_file_url
from backend.creators import services as creator_services
from backend.moderation import selectors, services
from backend.moderation.models import BlockedTerm, Case, Report, Strike
from backend.videos import services as video_services


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """Append-only: visible to moderators, editable by nobody."""

    list_display = ["created_at", "actor", "action", "target_type", "target_id", "reason"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["target_id", "reason", "actor__handle"]
    list_select_related = ["actor"]


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    list_display = ["term", "reason", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["term", "reason"]


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ["reporter", "reason", "details", "by_cameo_owner", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TargetTypeFilter(admin.SimpleListFilter):
    """By the target's kind, in the API's words (a case names its target by content type)."""

    title = "target type"
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        return Case.TargetType.choices

    def queryset(self, request, queryset):
        if self.value() not in Case.TARGET_MODELS:
            return queryset
        return queryset.filter(content_type=Case.target_content_type(self.value()))


@admin.register(Case)
class CaseAdmin(IndexedSearch, ServiceActionsOnly, admin.ModelAdmin):
    """The review queue: open cases, most urgent first; every action needs a reason.

    View-only (a form save would overwrite the priority and counts that new reports
    change); cases are resolved by the actions, never deleted.
    """

    list_display = ["id", "target_type", "target_id", "priority", "reporter_count", "top_reason", "status",
                    "created_at"]  # fmt: skip
    list_filter = ["status", TargetTypeFilter, "reports__reason"]
    search_fields = ["object_id", "reports__details"]
    indexed_search_fields = ("reports__details",)  # backend.core.admin.IndexedSearch
    indexed_search_ids = ("pk", "object_id")  # a number finds the case, or the cases about that target
    ordering = ["-priority", "created_at"]
    readonly_fields = ["target_type", "target_id", "status", "priority", "reporter_count", "created_at",
                       "resolved_at", "resolved_by", "resolution", "target_preview",
                       "creator_notifications"]  # fmt: skip
    fields = readonly_fields
    inlines = [ReportInline]
    action_form = ReasonActionForm
    actions = ["remove_target", "restore_target", "age_restrict", "suspend_cameo", "strike_creator",
               "suspend_account", "dismiss"]  # fmt: skip

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("reports")
        if "status__exact" not in request.GET:
            queryset = queryset.filter(status=Case.Status.OPEN)
        return queryset

    @admin.display(description="top reason")
    def top_reason(self, case):
        reasons = [report.reason for report in case.reports.all()]
        return max(reasons, key=lambda reason: services.SEVERITY[reason]) if reasons else "-"

    @admin.display(description="what was reported")
    def target_preview(self, case):
        target = _target_or_none(case)
        if target is None:
            return "(gone)"
        if case.target_type == Case.TargetType.VIDEO:
            # Signed while the files are private (drafts, removed or narrowed videos): moderators still watch them.
            url = media_file_url(target.mp4, public=target.media_public)
            player = format_html('<video src="{}" controls width="320"></video><br>', url) if url else ""
            cameos = ", ".join(a.cameo.display_name for a in target.appearances.select_related("cameo")) or "none"
            lineage = reverse("video-lineage", args=[target.id])
            return format_html('{}<b>@{}</b> · {} · prompt: “{}”<br>cameos: {} · <a href="{}">lineage</a>', player,
                               target.owner.handle, target.status, target.prompt, cameos, lineage)  # fmt: skip
        return format_html("{}", str(target))

    @admin.display(description="their notifications")
    def creator_notifications(self, case):
        # What the creator was told (decisions, strikes, grants...): a link, since the inbox is a higher app.
        target = _target_or_none(case)
        if target is None:
            return "-"
        creator = _creator_of(case, target)
        url = reverse("admin:notifications_notification_changelist") + f"?recipient={creator.id}"
        return format_html('<a href="{}">notifications of @{}</a>', url, creator.handle)

    def _act(self, request, queryset, action, verb):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason for the action.", level=messages.ERROR)
            return
        done = 0
        for case in queryset:
            target = _target_or_none(case)
            try:
                if target is None or action(case, target, reason) is False:
                    self.message_user(request, f"Case {case.id}: not applicable.", level=messages.WARNING)
                    continue
            except DomainError as error:
                # The service refused (e.g. a restore that consent or policy no longer allows): say why.
                self.message_user(request, f"Case {case.id} ({case.target_type} {case.target_id}): {error.detail}",
                                  level=messages.ERROR)  # fmt: skip
                continue
            services.case_resolve(case=case, by=request.user, resolution=f"{verb}: {reason}")
            done += 1
        self.message_user(request, f"{done} case(s): {verb}.")

    @admin.action(description="Remove the reported video or comment", permissions=["moderate"])
    def remove_target(self, request, queryset):
        def remove(case, target, reason):
            if case.target_type == Case.TargetType.VIDEO:
                video_services.video_remove(video=target, by=request.user, reason=reason)
            elif case.target_type == Case.TargetType.COMMENT:
                video_services.comment_remove(comment=target, by=request.user, reason=reason)
            else:
                return False

        self._act(request, queryset, remove, "removed")

    @admin.action(description="Restore the reported video", permissions=["moderate"])
    def restore_target(self, request, queryset):
        def restore(case, target, reason):
            if case.target_type != Case.TargetType.VIDEO:
                return False
            video_services.video_restore(video=target, by=request.user, reason=reason)

        self._act(request, queryset, restore, "restored")

    @admin.action(description="Age-restrict the reported video", permissions=["moderate"])
    def age_restrict(self, request, queryset):
        def restrict(case, target, reason):
            if case.target_type != Case.TargetType.VIDEO:
                return False
            video_services.video_age_restrict(video=target, by=request.user, reason=reason)

        self._act(request, queryset, restrict, "age-restricted")

    @admin.action(description="Suspend the reported cameo (or the cameos in the video)", permissions=["moderate"])
    def suspend_cameo(self, request, queryset):
        def suspend(case, target, reason):
            if case.target_type == Case.TargetType.CAMEO:
                cameos = [target]
            elif case.target_type == Case.TargetType.VIDEO:
                cameos = [appearance.cameo for appearance in target.appearances.select_related("cameo")]
            else:
                return False
            for cameo in cameos:
                cameo_services.cameo_suspend(cameo=cameo, by=request.user, reason=reason)
            return bool(cameos)

        self._act(request, queryset, suspend, "cameo suspended")

    @admin.action(description="Strike the creator", permissions=["moderate"])
    def strike_creator(self, request, queryset):
        def strike(case, target, reason):
            services.strike_add(user=_creator_of(case, target), by=request.user, reason=reason, case=case)

        self._act(request, queryset, strike, "creator struck")

    @admin.action(description="Suspend the creator's account", permissions=["moderate"])
    def suspend_account(self, request, queryset):
        def suspend(case, target, reason):
            creator_services.account_suspend(user=_creator_of(case, target), by=request.user, reason=reason)

        self._act(request, queryset, suspend, "account suspended")

    @admin.action(description="Dismiss: no action needed", permissions=["moderate"])
    def dismiss(self, request, queryset):
        self._act(request, queryset, lambda case, target, reason: None, "dismissed")


def _target_or_none(case):
    try:
        return selectors.report_target(target_type=case.target_type, target_id=case.target_id)
    except DomainError:
        return None


def _creator_of(case, target):
    return {"video": lambda: target.owner, "comment": lambda: target.author, "creator": lambda: target,
            "cameo": lambda: target.owner}[case.target_type]()  # fmt: skip


@admin.register(Strike)
class StrikeAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """Strikes are given from the review queue (audited, and enough of them suspend): shown here, not edited."""

    list_display = ["user", "reason", "given_by", "created_at", "expires_at"]
    search_fields = ["user__handle", "reason"]
    list_filter = ["created_at"]
    raw_id_fields = ["user", "case", "given_by"]
