from django.conf import settings
from django.db import models
from django.utils import timezone


class FeedPreference(models.Model):
    """What a viewer asked for in plain words, and the topics read from it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_preference")
    text = models.CharField(max_length=500, blank=True)
    more_topics = models.JSONField(default=list, blank=True)
    less_topics = models.JSONField(default=list, blank=True)
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
