from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.creators.models import User
from backend.videos.models import Hashtag, Video


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


class VideoDocument(models.Model):
    """A video's search document (``search_video_document``: caption, hashtags included, then the prompt
    unless hidden), stored so that matching and ranking read it instead of computing it again per row.

    Kept by the database itself, like an index: triggers on videos_video (search's migration 0003)
    write it with every insert and every change of caption, prompt or prompt_hidden, and delete it with
    the video, whatever path wrote the video (services, admin, bulk SQL). Nothing in Python writes it.
    """

    # No foreign key: a trigger removes the document with its video, so deleting videos costs Django no
    # extra query and a TRUNCATE of videos_video (benchmarks) is not refused.
    video = models.OneToOneField(
        Video, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="search_document"
    )
    document = SearchVectorField()
    # Copies of what search filters and ranks candidates by, kept by the same triggers (migration 0005), so that
    # choosing them reads this table alone: the video's state and counts, and its owner's standing (a trigger on
    # creators_user writes the owner's documents when their account is deactivated or suspended).
    owner_id = models.BigIntegerField(default=0)
    listed = models.BooleanField(default=False)  # published and not withdrawn: someone may find it
    visibility = models.CharField(max_length=16, default="")
    safe_for_teens = models.BooleanField(default=True)
    published_at = models.DateTimeField(null=True)
    like_count = models.IntegerField(default=0)
    remix_count = models.IntegerField(default=0)
    owner_active = models.BooleanField(default=True)
    owner_suspended_until = models.DateTimeField(null=True)
    # Among the newest SEARCH_RECENT_DOCUMENTS listed posts (by id, the order rows are written in, so that the
    # recent ones share few pages): set when written, cleared by ``services.recent_documents_refresh`` (beat).
    # Search looks among these first (``selectors.videos_search``).
    recent = models.BooleanField(default=True)
    # Among the newest SEARCH_NEWER_DOCUMENTS, a wider ring around the recent ones, kept alike (written true: a database
    # default, as the triggers write the rows); search looks among these next, before every post.
    newer = models.BooleanField(default=True, db_default=True)

    class Meta:
        indexes = [
            GinIndex(fields=["document"], name="search_videodocument_gin", condition=Q(listed=True)),
            GinIndex(fields=["document"], name="search_videodoc_recent_gin", condition=Q(listed=True, recent=True)),
            GinIndex(
                fields=["document"],
                name="search_videodoc_newer_gin",
                condition=Q(listed=True, newer=True, recent=False),
            ),
            models.Index(fields=["-video"], name="search_videodoc_recent_new", condition=Q(listed=True, recent=True)),
            models.Index(fields=["-video"], name="search_videodoc_newer_new", condition=Q(listed=True, newer=True)),
            models.Index(fields=["owner_id"], name="search_videodoc_owner"),
        ]

    def __str__(self) -> str:
        return f"document of video {self.video_id}"


class CreatorName(models.Model):
    """A creator's handle and display name folded (``search_fold``: lower case, accents dropped), stored so
    that matching and ranking compare plain text instead of folding every candidate again (unaccent costs
    tens of microseconds a call). Kept by triggers on creators_user (search's migration 0004)."""

    user = models.OneToOneField(
        User, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="search_name"
    )
    handle = models.TextField()  # folded text may be longer than typed ("ß" is "ss")
    name = models.TextField()

    def __str__(self) -> str:
        return f"@{self.handle}"


class HashtagName(models.Model):
    """A hashtag's name folded (``search_fold``), with whether it is a challenge, stored so that matching and
    ranking compare plain text instead of folding every candidate again (as ``CreatorName``). Kept by triggers on
    videos_hashtag (search's migration 0006)."""

    hashtag = models.OneToOneField(
        Hashtag, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="search_name"
    )
    name = models.TextField()
    is_challenge = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"#{self.name}"
