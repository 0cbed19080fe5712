"""What moderators see of a person's inbox while handling a case, and what operators see of failed pushes.

Read-only: items are written by the services, failures by the push sender.
"""

from django.contrib import admin

from backend.core.admin import ServiceActionsOnly
from backend.creators.models import User
from notifications.models import Notification, PushFailure


class RecipientFilter(admin.SimpleListFilter):
    """One person's items (``?recipient=<user id>``, as the moderation case links to them); clearable."""

    title = "recipient"
    parameter_name = "recipient"

    def lookups(self, request, model_admin):
        user_id = self.value()
        if not (user_id and user_id.isdigit()):
            return []
        return [(user.id, str(user)) for user in User.objects.filter(id=user_id)]

    def queryset(self, request, queryset):
        user_id = self.value()
        return queryset.filter(recipient_id=user_id) if user_id and user_id.isdigit() else queryset


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class PushFailureInline(admin.TabularInline):
    model = PushFailure
    extra = 0
    can_delete = False
    fields = ["created_at", "provider", "code", "permanent", "device_token_tail", "message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["updated_at", "recipient", "kind", "target_type", "target_id", "actor_count", "read_at",
                    "pushed_at"]  # fmt: skip
    list_filter = [RecipientFilter, "kind", ReadFilter, "updated_at"]
    search_fields = ["recipient__handle", "group_key"]
    list_select_related = ["recipient"]
    ordering = ["-updated_at", "-id"]
    inlines = [PushFailureInline]


@admin.register(PushFailure)
class PushFailureAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """Pushes that did not reach a phone, newest first: what went wrong, and whether the token is dead."""

    list_display = ["created_at", "provider", "code", "permanent", "device_token_tail", "notification", "message"]
    list_filter = ["code", "permanent", "provider", "created_at"]
    search_fields = ["code", "message", "device_token_tail"]
    list_select_related = ["notification"]
    raw_id_fields = ["notification"]
    ordering = ["-created_at", "-id"]
