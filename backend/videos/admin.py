"""What moderators see of videos and comments. Every change goes through the services.

A video's owner, visibility, status, teen flag, remix permission and lineage all
have consequences (feeds, consent, counters, the audit log), so nothing of a
video is edited here: moderators remove, restore and age-restrict with the list
actions. A comment deleted here is removed by ``comment_remove`` (counted off its
video, audited).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backend.core.admin import IndexedSearch, ReasonActionForm, ServiceActionsOnly, action_reason, run_each
from backend.core.private_media import media_file_url
from backend.videos import services
from backend.videos.models import Comment, Hashtag, Video


def _video_label(video: Video) -> str:
    return f"Video {video.id}"


@admin.register(Video)
class VideoAdmin(IndexedSearch, ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["id", "owner", "status", "visibility", "caption", "parent_link", "root_link", "remix_count",
                    "like_count", "published_at"]  # fmt: skip
    list_filter = ["status", "visibility", "safe_for_teens", "remix_allowed", "published_at"]
    search_fields = ["id", "owner__handle", "caption", "prompt"]
    # backend.core.admin.IndexedSearch: caption and prompt word by word (full-text index), the owner's handle.
    indexed_search_fields = ("owner__handle",)
    indexed_search_document = True
    list_select_related = ["owner"]
    # The page is view-only (ServiceActionsOnly): every field is shown read-only.
    readonly_fields = ["player"]
    action_form = ReasonActionForm
    actions = ["remove", "restore", "age_restrict"]

    def _link(self, video_id):
        if not video_id:
            return "-"
        return format_html('<a href="{}">#{}</a>', reverse("admin:videos_video_change", args=[video_id]), video_id)

    @admin.display(description="parent")
    def parent_link(self, video):
        return self._link(video.parent_id)

    @admin.display(description="root")
    def root_link(self, video):
        return self._link(video.root_id)

    @admin.display(description="video")
    def player(self, video):
        if not video.mp4:
            return "-"
        # Signed while the files are private (drafts, removed videos): moderators still watch them.
        url = media_file_url(video.mp4, public=video.media_public)
        return format_html('<video src="{}" controls width="320"></video>', url)

    @admin.action(
        description="Remove the selected videos (kept as tombstones in their lineage)", permissions=["moderate"]
    )
    def remove(self, request, queryset):
        self._each(request, queryset, services.video_remove, "removed")

    @admin.action(description="Restore the selected removed videos", permissions=["moderate"])
    def restore(self, request, queryset):
        # Consent, policy and sources are checked again: a refusal is shown to the moderator, per video.
        self._each(request, queryset, services.video_restore, "restored")

    @admin.action(description="Age-restrict the selected videos (hidden from teens)", permissions=["moderate"])
    def age_restrict(self, request, queryset):
        self._each(request, queryset, services.video_age_restrict, "age-restricted")

    def _each(self, request, queryset, service, verb: str) -> None:
        reason = action_reason(request, f"{verb} by a moderator in the admin")
        run_each(self, request, queryset, lambda video: service(video=video, by=request.user, reason=reason), verb,
                 label=_video_label)  # fmt: skip


@admin.register(Comment)
class CommentAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """View-only; deleting one comment, or the selected ones, goes through ``comment_remove``."""

    list_display = ["id", "video", "author", "body", "created_at"]
    search_fields = ["body", "author__handle"]
    list_filter = ["created_at"]
    list_select_related = ["author"]

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj):
        services.comment_remove(comment=obj, by=request.user, reason="removed by a moderator in the admin")

    def delete_queryset(self, request, queryset):
        for comment in queryset:
            self.delete_model(request, comment)


@admin.register(Hashtag)
class HashtagAdmin(IndexedSearch, admin.ModelAdmin):
    """Challenges are curated here; a tag's name and which videos carry it are the services'."""

    list_display = ["name", "is_challenge", "title", "created_at"]
    list_filter = ["is_challenge"]
    search_fields = ["name", "title"]
    indexed_search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        return ["name", "created_at"] if obj else ["created_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # it would untag every video that carries it
