"""Accounts, follows, blocks and invites as staff see them.

Follows and blocks are shown, not edited: the services keep the counts, the
mutuals' cameo access and the feed's caches in step. Accounts are never deleted
here (that would skip the takedowns a deleted cameo needs); a suspension is
given with the "Suspend" action (audited), and an edit saves only what changed.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from backend.core.admin import (
    ChangedFieldsOnly,
    IndexedSearch,
    ModerateActions,
    ReasonActionForm,
    ServiceActionsOnly,
    run_each,
)
from backend.creators import services
from backend.creators.models import Block, Follow, InviteCode, InviteRedemption, User


@admin.register(User)
class UserAdmin(IndexedSearch, ModerateActions, ChangedFieldsOnly, DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["handle", "email", "display_name", "tier", "follower_count", "is_active", "is_staff",
                    "suspended_until", "created_at"]  # fmt: skip
    list_filter = ["tier", "is_active", "is_staff", "created_at"]
    search_fields = ["handle", "email", "display_name"]
    indexed_search_fields = ("handle", "display_name")  # backend.core.admin.IndexedSearch: the trigram indexes
    indexed_search_exact = ("email",)
    readonly_fields = ["follower_count", "following_count", "suspended_until", "created_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "handle", "password"]}),
        ("Profile", {"fields": ["display_name", "bio", "avatar", "birth_date", "tier"]}),
        ("Counts", {"fields": ["follower_count", "following_count"]}),
        ("Access", {"fields": ["is_active", "suspended_until", "is_staff", "is_superuser", "groups",
                               "user_permissions"]}),
        ("Dates", {"fields": ["created_at", "last_login"]}),
    ]  # fmt: skip
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "handle", "password1", "password2"]})]
    filter_horizontal = ["groups", "user_permissions"]
    action_form = ReasonActionForm
    actions = ["suspend"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=f"Suspend the selected accounts for {settings.SUSPENSION_DAYS} days (reason required)",
                  permissions=["moderate"])  # fmt: skip
    def suspend(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason for the suspension.", level=messages.ERROR)
            return

        def suspend(user):
            services.account_suspend(user=user, by=request.user, reason=reason)

        run_each(self, request, queryset, suspend, "suspended")


@admin.register(Follow)
class FollowAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    search_fields = ["follower__handle", "followee__handle"]
    list_filter = ["created_at"]
    raw_id_fields = ["follower", "followee"]
    list_select_related = ["follower", "followee"]


@admin.register(Block)
class BlockAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    search_fields = ["blocker__handle", "blocked__handle"]
    list_filter = ["created_at"]
    raw_id_fields = ["blocker", "blocked"]
    list_select_related = ["blocker", "blocked"]


class InviteRedemptionInline(admin.TabularInline):
    model = InviteRedemption
    extra = 0
    raw_id_fields = ["user"]
    readonly_fields = ["user", "redeemed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # redeemed by registering, which counts the use


@admin.register(InviteCode)
class InviteCodeAdmin(ChangedFieldsOnly, admin.ModelAdmin):
    list_display = ["code", "note", "use_count", "max_uses", "expires_at", "is_active", "created_by", "created_at"]
    list_filter = ["is_active", "expires_at", "created_at"]
    search_fields = ["code", "note", "created_by__handle"]
    readonly_fields = ["use_count", "created_at"]
    raw_id_fields = ["created_by"]
    inlines = [InviteRedemptionInline]

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
