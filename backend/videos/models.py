from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Video(models.Model):
    """A draft or a post. Removal keeps the row as a tombstone in its lineage."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        REMOVED = "removed", "Removed"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        FOLLOWERS = "followers", "Followers"
        PRIVATE = "private", "Private"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    prompt = models.TextField(max_length=2000)
    prompt_hidden = models.BooleanField(default=False, help_text="Hide the prompt on the post.")
    caption = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    remix_allowed = models.BooleanField(default=True)
    safe_for_teens = models.BooleanField(default=True)

    # Lineage: parent and root for remixes (null for an original), depth 0 for an original.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    root = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    depth = models.PositiveIntegerField(default=0)

    # Media, as names in the public store.
    duration_s = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    mp4 = models.CharField(max_length=300, blank=True)
    hls = models.CharField(max_length=300, blank=True)
    poster = models.CharField(max_length=300, blank=True)
    thumbnails = models.JSONField(default=list, blank=True)

    # Denormalised counters, changed only with F() updates by the services.
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    remix_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveBigIntegerField(default=0)
    # From feed events (flushed from Redis by beat): the ranking's denominators.
    impression_count = models.PositiveBigIntegerField(default=0)
    completion_count = models.PositiveBigIntegerField(default=0)
    skip_count = models.PositiveBigIntegerField(default=0)
    watch_seconds = models.PositiveBigIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=300, blank=True)
    # Set when a cameo in the video is no longer allowed for its creator.
    consent_withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["parent", "id"], name="video_parent_id"),
            models.Index(
                fields=["owner", "-published_at"],
                name="video_owner_published",
                condition=models.Q(status="published"),
            ),
            models.Index(
                fields=["-published_at", "-id"],
                name="video_public_recent",
                condition=models.Q(status="published", visibility="public", consent_withdrawn_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"video {self.id} by {self.owner_id} ({self.status})"

    @property
    def lineage_root_id(self) -> int:
        return self.root_id or self.id

    @property
    def is_removed(self) -> bool:
        return self.status == self.Status.REMOVED


class VideoLineage(models.Model):
    """Closure table: one row per (ancestor, descendant) pair, itself included at depth 0.

    See ``backend/videos/lineage.py`` for why.
    """

    pk = models.CompositePrimaryKey("descendant_id", "ancestor_id")
    descendant = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="lineage_as_descendant")
    ancestor = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="lineage_as_ancestor")
    depth = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["ancestor", "depth", "descendant"], name="lineage_ancestor_depth_desc")]

    def __str__(self) -> str:
        return f"{self.ancestor_id} → {self.descendant_id} ({self.depth})"


class Like(models.Model):
    pk = models.CompositePrimaryKey("video_id", "user_id")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="like_user_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.video_id}"


class Comment(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    body = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["video", "-created_at"], name="comment_video_recent")]

    def __str__(self) -> str:
        return f"comment {self.id} on {self.video_id}"


class Hashtag(models.Model):
    """A #tag; a challenge is a hashtag with a title and a page of its own."""

    name = models.CharField(max_length=50)
    is_challenge = models.BooleanField(default=False)
    title = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="hashtag_name_ci_unique")]

    def __str__(self) -> str:
        return f"#{self.name}"


class VideoHashtag(models.Model):
    pk = models.CompositePrimaryKey("hashtag_id", "video_id")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="entries")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="hashtag_links")

    def __str__(self) -> str:
        return f"{self.hashtag_id} on {self.video_id}"
