from django.contrib import admin

from backend.moderation.models import AuditLogEntry, BlockedTerm


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Append-only: visible to moderators, editable by nobody."""

    list_display = ["created_at", "actor", "action", "target_type", "target_id", "reason"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["target_id", "reason", "actor__handle"]
    list_select_related = ["actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    list_display = ["term", "reason", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["term", "reason"]
