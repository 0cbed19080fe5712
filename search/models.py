from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.videos.models import Hashtag


class HashtagStats(models.Model):
    """How many posts anyone may see carry a hashtag, in all and of late: what search shows next to a
    hashtag and what ``discover`` ranks by. Refreshed set-based by beat (``search.hashtag_stats_refresh``),
    so a search never counts thousands of rows; counts may lag by one refresh."""

    hashtag = models.OneToOneField(Hashtag, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    video_count = models.PositiveIntegerField(default=0)
    # Posts published within SEARCH_TRENDING_WINDOW_DAYS, weighted by their likes and remixes.
    recent_count = models.PositiveIntegerField(default=0)
    trending_score = models.FloatField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-trending_score"], name="hashtagstats_trending")]
        verbose_name_plural = "hashtag stats"

    def __str__(self) -> str:
        return f"#{self.hashtag_id}: {self.video_count}"
