from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from backend.creators.models import Block, Follow


def _viewer_id(viewer) -> int | None:
    return viewer.id if viewer is not None and viewer.is_authenticated else None


def _shown_to_followers() -> Q:
    return Q(
        status=Video.Status.PUBLISHED,
        visibility__in=[Video.Visibility.PUBLIC, Video.Visibility.FOLLOWERS],
        withdrawn_at__isnull=True,
        owner__is_active=True,
    ) & ~Q(owner__suspended_until__gt=timezone.now())


class VideoQuerySet(models.QuerySet):
    """The one rule for who may see which video. Every read goes through ``visible_to``."""

    def shown_to_followers(self) -> VideoQuerySet:
        """Posts whose own state lets others see them: published, public or for followers, standing
        (nothing in them withdrawn, no source they embed hidden), by an account in good standing.
        Feeds build their shared cards from this; who may see which of them is ``visible_to``."""
        return self.filter(_shown_to_followers())

    def shown_to_everyone(self) -> VideoQuerySet:
        """What anyone may see, logged out included: the public ones of ``shown_to_followers``."""
        return self.filter(_visible_to(None))

    def visible_to(self, viewer) -> VideoQuerySet:
        """Every video ``viewer`` may open, by this one rule:

        - removed: nobody (lineages show published ones as tombstones, see ``lineage_listable_by``);
        - withdrawn (a likeness in it, or a source it embeds, may no longer be shown): nobody; the
          owners of its cameos find it among their appearances and may remove it there;
        - otherwise its owner and the owners of its cameos (drafts and private posts included), and
          others when ``shown_to_followers`` has it, public or they follow its owner, with no block
          between them and its owner; never across a block with the owner of a video whose frames
          went into it (``embedded_sources``), and for teen viewers only if safe for teens.
        """
        return self.filter(_visible_to(viewer))

    def lineage_listable_by(self, viewer) -> VideoQuerySet:
        """What a lineage or remix list shows ``viewer``: what they may see, and tombstones of removed
        public posts (so the remixes they may see keep their attribution)."""
        tombstone = Q(status=Video.Status.REMOVED, published_at__isnull=False, visibility=Video.Visibility.PUBLIC)
        return self.filter(_visible_to(viewer) | tombstone)


def _visible_to(viewer) -> Q:
    """``VideoQuerySet.visible_to`` as a condition, so lists can combine it without a subquery.

    Built so the database evaluates each relation of the viewer once per query, not once per row:
    their follows and their cameos as uncorrelated subqueries, and the people they block or are
    blocked by read first (most have none, and then no row pays for the check).
    """
    not_removed = ~Q(status=Video.Status.REMOVED)
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return not_removed & _shown_to_followers() & Q(visibility=Video.Visibility.PUBLIC)
    stars_viewer = Q(
        id__in=Video.appearances.rel.related_model.objects.filter(cameo__owner_id=viewer_id).values("video_id")
    )
    follows_owner = Q(owner_id__in=Follow.objects.filter(follower_id=viewer_id).values("followee_id"))
    others_may_see = _shown_to_followers() & (Q(visibility=Video.Visibility.PUBLIC) | follows_owner)
    standing = Q(withdrawn_at__isnull=True) & (Q(owner_id=viewer_id) | others_may_see)
    blocked = _blocked_either_way(viewer_id)
    if blocked:
        # Nor anything whose frames come from them (``embedded_sources``).
        shows_blocked = Exists(
            Video.embedded_sources.through.objects.filter(from_video_id=OuterRef("id"), to_video__owner_id__in=blocked)
        )
        standing &= ~Q(owner_id__in=blocked) & ~shows_blocked
    if viewer.is_teen:
        standing &= Q(safe_for_teens=True)  # their own too: age-restricted means for adults only
    # A withdrawn video shows a likeness its creator may no longer use: nobody opens it (its cameos'
    # owners still find it among their appearances, and remove it there).
    return not_removed & (standing | (stars_viewer & Q(withdrawn_at__isnull=True)))


def _blocked_either_way(viewer_id: int) -> list[int]:
    pairs = Block.objects.filter(Q(blocker_id=viewer_id) | Q(blocked_id=viewer_id)).values_list(
        "blocker_id", "blocked_id"
    )
    return sorted({person for pair in pairs for person in pair} - {viewer_id})


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
    # Deleted by its own creator (remixes of a public post stay, under its tombstone), rather than
    # taken down (by a moderator, or for a likeness in it: remixes of it follow).
    removed_by_owner = models.BooleanField(default=False)

    class Withdrawal(models.TextChoices):
        CONSENT = "consent", "A likeness in it may no longer be used by its creator"
        SOURCE = "source", "A video it embeds is no longer shown as widely"

    # Set while the video may not be shown to anyone but the owners of its cameos: a likeness in it
    # is no longer allowed for its creator (kept), or a video it embeds was narrowed, taken down or
    # withdrawn (lifted again when that source is shown as widely again).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=10, choices=Withdrawal.choices, blank=True)
    # Every video whose frames went into this one, at any remove: the remixed source and its own
    # sources, a reference recognised as a video made here (provenance) and its sources. Written once
    # with the draft; their likenesses and visibility limits carry over (``videos.services``).
    embedded_sources = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="embedded_in")
    # Where the files are: the public store (served to anyone, CDN-cacheable) only while the video
    # is shown to everyone; the private store, behind signed links, otherwise.
    media_public = models.BooleanField(default=False)

    objects = VideoQuerySet.as_manager()

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
                condition=models.Q(status="published", visibility="public", withdrawn_at__isnull=True),
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

    def is_visible_to(self, viewer) -> bool:
        """The per-object twin of ``Video.objects.visible_to``: the same rule, asked of the database."""
        return Video.objects.visible_to(viewer).filter(id=self.id).exists()

    @property
    def shown_as(self) -> str | None:
        """The widest audience this video's frames may reach now: its visibility when published,
        private while a draft, public for the tombstone of a public post its creator deleted; None
        when withdrawn or taken down."""
        if self.withdrawn_at is not None:
            return None
        if self.status == self.Status.PUBLISHED:
            return self.visibility
        if self.status == self.Status.DRAFT:
            return self.Visibility.PRIVATE
        if self.removed_by_owner and self.published_at and self.visibility == self.Visibility.PUBLIC:
            return self.Visibility.PUBLIC
        return None

    @property
    def shown_to_everyone(self) -> bool:
        """Whether anyone may see it by its own state and its owner's account: where its files live. An
        account being deleted (inactive) keeps nothing public; a suspension, which ends, moves nothing."""
        return (
            self.status == self.Status.PUBLISHED
            and self.visibility == self.Visibility.PUBLIC
            and self.withdrawn_at is None
            and self.owner.is_active
        )


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
        indexes = [
            models.Index(fields=["user", "-created_at"], name="like_user_recent"),
            # The newest likers of a video since a moment (the grouped like notification).
            models.Index(fields=["video", "-created_at"], name="like_video_recent"),
        ]

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
