from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backend.videos import services
from backend.videos.models import Comment, Hashtag, Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "status", "visibility", "caption", "parent_link", "root_link", "remix_count",
                    "like_count", "published_at"]  # fmt: skip
    list_filter = ["status", "visibility", "safe_for_teens", "remix_allowed", "published_at"]
    search_fields = ["id", "owner__handle", "caption", "prompt"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "parent", "root"]
    readonly_fields = ["status", "parent", "root", "depth", "like_count", "comment_count", "remix_count",
                       "view_count", "impression_count", "published_at", "removed_at", "removed_reason",
                       "consent_withdrawn_at", "player"]  # fmt: skip
    actions = ["remove", "restore"]

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
        from media import storage

        return format_html('<video src="{}" controls width="320"></video>', storage.public().url(video.mp4))

    @admin.action(description="Remove the selected videos (kept as tombstones in their lineage)")
    def remove(self, request, queryset):
        for video in queryset:
            services.video_remove(video=video, by=request.user, reason="removed by a moderator in the admin")
        self.message_user(request, f"{queryset.count()} video(s) removed.")

    @admin.action(description="Restore the selected removed videos")
    def restore(self, request, queryset):
        for video in queryset:
            services.video_restore(video=video, by=request.user, reason="restored by a moderator in the admin")
        self.message_user(request, f"{queryset.count()} video(s) restored.")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "video", "author", "body", "created_at"]
    search_fields = ["body", "author__handle"]
    list_filter = ["created_at"]
    raw_id_fields = ["video", "author"]
    list_select_related = ["author"]


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ["name", "is_challenge", "title", "created_at"]
    list_filter = ["is_challenge"]
    search_fields = ["name", "title"]
