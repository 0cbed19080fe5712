from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone

from backend.rights import services
from backend.rights.models import Character, LedgerEntry, RevenueEvent, RightsHolder, UsageApproval


@admin.register(RightsHolder)
class RightsHolderAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    actions = ["this_months_statement"]

    @admin.action(description="Download this month's statement (CSV)")
    def this_months_statement(self, request, queryset):
        today = timezone.localdate()
        rows = [services.statement_csv(services.holder_statement(holder=holder, year=today.year, month=today.month))
                for holder in queryset]  # fmt: skip
        response = HttpResponse("".join(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="statement-{today:%Y-%m}.csv"'
        return response


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "holder", "allowed", "scope", "needs_approval", "revenue_share_bps"]
    list_filter = ["allowed", "scope", "needs_approval", "holder"]
    search_fields = ["name", "aliases", "holder__name"]
    actions = ["take_down_videos"]

    @admin.action(description="Take down published videos using these characters (the holder asked)")
    def take_down_videos(self, request, queryset):
        count = sum(services.character_videos_take_down(character=c, by=request.user, reason="holder request")
                    for c in queryset)  # fmt: skip
        self.message_user(request, f"{count} video(s) taken down.")

    def save_model(self, request, obj, form, change):
        if change:
            from backend.rights.services import character_policy_update

            policy_fields = {"allowed", "scope", "restrictions", "needs_approval", "revenue_share_bps"}
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in policy_fields}
            other = [name for name in form.changed_data if name not in policy_fields]
            if other:
                super().save_model(request, obj, form, change)
            if changed:
                character_policy_update(character=obj, by=request.user, **changed)
        else:
            super().save_model(request, obj, form, change)


@admin.register(UsageApproval)
class UsageApprovalAdmin(admin.ModelAdmin):
    """The approvals queue: holders (or staff for them) approve or deny each use."""

    list_display = ["character", "requester", "status", "created_at", "decided_at"]
    list_filter = ["status", "character__holder"]
    raw_id_fields = ["requester"]
    actions = ["approve", "deny"]

    @admin.action(description="Approve the selected uses")
    def approve(self, request, queryset):
        queryset.update(status=UsageApproval.Status.APPROVED, decided_at=timezone.now())

    @admin.action(description="Deny the selected uses")
    def deny(self, request, queryset):
        queryset.update(status=UsageApproval.Status.DENIED, decided_at=timezone.now())


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RevenueEvent)
class RevenueEventAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "video", "kind", "amount_minor", "currency", "created_at"]
    search_fields = ["external_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["event", "party", "user", "holder", "character", "amount_minor", "currency", "created_at"]
    list_filter = ["party", "currency", "holder"]
    search_fields = ["user__handle", "holder__name", "event__external_id"]
