"""The inbox and the phones it reaches.

One ``Notification`` row per item a person sees. An item that groups ("maya and 41 others liked
your video") is one row that updates: its ``group_key`` names what it groups (``like:video:42``), it
counts the actors since it was last read, and reading it starts a new group on the same row. An
item that does not group has the event's identity in its ``group_key`` (``grant_requested:grant:17``),
so the unique (recipient, group_key) makes a redelivered event harmless.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    # Likeness: the owner of a cameo hears of every use of it. These cannot be switched off.
    LIKENESS_RENDER = "likeness.render", "Your cameo is in a render"
    LIKENESS_DRAFT = "likeness.draft", "Your cameo is in a draft"
    LIKENESS_PUBLISHED = "likeness.published", "Your cameo is in a published video"
    LIKENESS_REMOVED = "likeness.appearance_removed", "An appearance of your cameo was removed"
    LIKENESS_NAME = "likeness.protected_name", "Someone asked for your protected name"
    # Consent
    GRANT_REQUESTED = "consent.grant_requested", "Someone asks to use your cameo"
    GRANT_APPROVED = "consent.grant_approved", "Your cameo request was approved"
    GRANT_DENIED = "consent.grant_denied", "Your cameo request was denied"
    GRANT_REVOKED = "consent.grant_revoked", "Your access to a cameo was revoked"
    VERIFICATION_PASSED = "consent.verification_passed", "Your cameo is verified"
    VERIFICATION_REFUSED = "consent.verification_refused", "Your cameo verification was refused"
    # Creation
    RENDER_SUCCEEDED = "creation.render_succeeded", "Your render is ready"
    RENDER_FAILED = "creation.render_failed", "Your render failed"
    RENDER_BLOCKED = "creation.render_blocked", "Your render was blocked"
    VIDEO_READY = "creation.video_ready", "Your video finished processing"
    # Social
    FOLLOW = "social.follow", "New follower"
    LIKE = "social.like", "Likes on your video"
    COMMENT = "social.comment", "Comment on your video"
    REPLY = "social.reply", "Reply to your comment"
    REMIX = "social.remix", "Remix of your video"
    MENTION = "social.mention", "You were mentioned"
    CHALLENGE_ENTRY = "social.challenge_entry", "New entry in your challenge"
    # Moderation
    CONTENT_DECISION = "moderation.content_decision", "Decision on your content"
    REPORT_DECISION = "moderation.report_decision", "Decision on your report"
    STRIKE = "moderation.strike", "Strike on your account"
    SUSPENDED = "moderation.suspended", "Your account is suspended"
    SUSPENSION_ENDED = "moderation.suspension_ended", "Your suspension ended"
    # Rights holders
    USAGE_REQUESTED = "rights.usage_requested", "Someone asks to use your character"
    STATEMENT_READY = "rights.statement_ready", "Your monthly statement is ready"
    # Account
    EXPORT_READY = "account.export_ready", "Your data export is ready"


# What a person cannot switch off: every use of their likeness.
MANDATORY = frozenset(kind for kind in Kind if kind.value.startswith("likeness."))
# What groups into one updating item per target.
GROUPED = frozenset({Kind.LIKE, Kind.FOLLOW, Kind.REMIX, Kind.CHALLENGE_ENTRY})


class Channel(models.TextChoices):
    INBOX = "inbox", "Inbox"
    PUSH = "push", "Push"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    group_key = models.CharField(max_length=200)
    # The newest actors first (at most a few, for "maya, leo and 40 others"), and how many acted
    # since the group was last read.
    actor_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    actor_count = models.PositiveIntegerField(default=0)
    # What it is about, for the app: a type ("video", "cameo", "grant", "render", "report",
    # "statement", "creator"), an id, and the path that opens it.
    target_type = models.CharField(max_length=20)
    target_id = models.CharField(max_length=64)
    deep_link = models.CharField(max_length=200)
    # Codes and counts only (a reason code, a strike count): never private text such as a prompt.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the item last changed (a new actor in its group): the inbox is ordered by it.
    updated_at = models.DateTimeField(default=timezone.now)
    # A grouped item counts the actors after this moment (when it was last read).
    group_since = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Push: when one was last queued (the grouped-push rate limit counts from it, so a storm of
    # refreshes queues one push, not one per like before the first is sent), and what was last
    # sent (the actor count at the time), so a redelivered task sends nothing.
    push_queued_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "group_key"], name="notification_one_per_group"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-updated_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.group_key})"


class Preference(models.Model):
    """A switched-off (or back on) kind on one channel; no row means on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notification_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {'on' if self.enabled else 'off'}"


class Device(models.Model):
    """A phone that gets pushes: an FCM registration token (FCM reaches iOS through APNs too)."""

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    token = models.CharField(max_length=512, unique=True)
    platform = models.CharField(max_length=8, choices=Platform.choices)
    app_version = models.CharField(max_length=32, blank=True)
    locale = models.CharField(max_length=35, blank=True)
    # IANA name ("Europe/Paris"): a teen's quiet hours are the phone's night.
    time_zone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.platform} device of {self.user_id} (…{self.token[-6:]})"


class PushFailure(models.Model):
    """A push that could not be delivered, for operators (the device is pruned when the token is dead)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="push_failures")
    device_token_tail = models.CharField(max_length=16)
    provider = models.CharField(max_length=20)
    code = models.CharField(max_length=64)
    message = models.CharField(max_length=500, blank=True)
    permanent = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.provider} {self.code} for notification {self.notification_id}"
