from django.conf import settings
from django.db import models
from django.utils import timezone


class FeedPreference(models.Model):
    """What a viewer asked for in plain words, and the topics read from it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_preference")
    text = models.CharField(max_length=500, blank=True)
    more_topics = models.JSONField(default=list, blank=True)
    less_topics = models.JSONField(default=list, blank=True)
    # The language the text was written in: its words are stemmed in it (feeds/steering.py).
    language = models.CharField(max_length=16, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"feed preferences of {self.user_id}"


class CounterFlush(models.Model):
    """Batches of event counters already applied, so a retried flush never counts twice."""

    batch_id = models.CharField(max_length=64, primary_key=True)
    flushed_at = models.DateTimeField(default=timezone.now)
    videos = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.batch_id


class RedisRepair(models.Model):
    """A change Redis missed while it was away, put right when it is back (``services.redis_repairs_apply``).

    Written by the feed's receivers when a Redis write fails, so the feed agrees with PostgreSQL
    within seconds of recovery instead of when keys expire.
    """

    class Kind(models.TextChoices):
        LIKED = "liked", "A viewer's liked set (reloaded from PostgreSQL)"
        HIDDEN = "hidden", "A removed or withdrawn video (its card becomes a tombstone)"
        CARD = "card", "A changed video (its card is rebuilt)"
        FOLLOWING = "following", "A viewer's following feed (reloaded)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    target_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "target_id"], name="one_repair_per_target")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_id}"
