from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from backend.creators.models import Block, Follow, InviteCode, InviteRedemption, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["handle", "email", "display_name", "tier", "follower_count", "is_active", "is_staff", "created_at"]
    list_filter = ["tier", "is_active", "is_staff", "created_at"]
    search_fields = ["handle", "email", "display_name"]
    readonly_fields = ["follower_count", "following_count", "created_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "handle", "password"]}),
        ("Profile", {"fields": ["display_name", "bio", "avatar", "birth_date", "tier"]}),
        ("Counts", {"fields": ["follower_count", "following_count"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["created_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "handle", "password1", "password2"]})]
    filter_horizontal = ["groups", "user_permissions"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    search_fields = ["follower__handle", "followee__handle"]
    list_filter = ["created_at"]
    raw_id_fields = ["follower", "followee"]
    list_select_related = ["follower", "followee"]


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
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


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
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
