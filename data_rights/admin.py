"""What moderators see of data rights (pending deletions, exports, purges: read-only) and the one action
operators take: purge an account now, for a legal request (audited, with its reason)."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages

from backend.core.admin import ReasonActionForm, ServiceActionsOnly, run_each
from data_rights import services
from data_rights.models import AccountPurge, DataExport, PendingDeletion


@admin.register(PendingDeletion)
class PendingDeletionAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["id", "handle", "email", "deletion_requested_at", "purge_due_at", "suspended_until"]
    search_fields = ["handle", "email"]
    ordering = ["deletion_requested_at"]
    fields = ["id", "handle", "email", "display_name", "deletion_requested_at", "suspended_until", "created_at"]
    readonly_fields = fields
    action_form = ReasonActionForm
    actions = ["purge_now"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deletion_requested_at__isnull=False, purged_at__isnull=True)

    @admin.display(description="purged from")
    def purge_due_at(self, user):
        return user.deletion_requested_at + timedelta(days=settings.ACCOUNT_PURGE_DAYS)

    @admin.action(description="Purge the selected accounts now (a legal request: reason required)",
                  permissions=["moderate"])  # fmt: skip
    def purge_now(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give the reason (the legal request).", level=messages.ERROR)
            return

        def purge(user):
            services.account_purge(user=user, by=request.user, reason=reason)

        run_each(self, request, queryset, purge, "purged")


@admin.register(DataExport)
class DataExportAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["id", "user", "status", "size_bytes", "created_at", "finished_at", "expires_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["user__handle", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    # The file is the person's data: the admin shows that it exists, never its contents.
    exclude = ["file_name"]


@admin.register(AccountPurge)
class AccountPurgeAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["user_id", "requested_at", "purged_at", "by", "reason"]
    list_filter = ["purged_at"]
    search_fields = ["user_id", "reason"]
    list_select_related = ["by"]
