from django.conf import settings
from django.db import models
from django.utils import timezone


class RightsHolder(models.Model):
    """A studio, author or estate whose characters may appear in videos."""

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="rights_holders")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Character(models.Model):
    """A character and its usage policy."""

    class Scope(models.TextChoices):
        ANYWHERE = "anywhere", "Anywhere"
        OFFICIAL_REMIXES = "official_remixes", "Only in remixes of official videos"

    holder = models.ForeignKey(RightsHolder, on_delete=models.CASCADE, related_name="characters")
    name = models.CharField(max_length=120)
    aliases = models.TextField(blank=True, help_text="One alias per line: nicknames, other scripts.")
    exceptions = models.TextField(
        blank=True, help_text="Phrases that contain a name or alias but mean something else, one per line."
    )
    reference_image = models.CharField(max_length=300, blank=True)
    allowed = models.BooleanField(default=False)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.ANYWHERE)
    restrictions = models.CharField(max_length=500, blank=True, help_text="Passed to the provider with every render.")
    needs_approval = models.BooleanField(default=False)
    revenue_share_bps = models.PositiveIntegerField(default=0, help_text="Basis points of each revenue event.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)  # the name guard recompiles when this moves

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(revenue_share_bps__lte=5000), name="character_share_at_most_half")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def terms(self) -> list[str]:
        return [self.name, *(alias.strip() for alias in self.aliases.splitlines() if alias.strip())]


class UsageApproval(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="approvals")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["character", "requester"], name="one_approval_per_requester")]

    def __str__(self) -> str:
        return f"{self.requester_id} → {self.character} ({self.status})"


class VideoCharacter(models.Model):
    pk = models.CompositePrimaryKey("video_id", "character_id")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="character_links")
    character = models.ForeignKey(Character, on_delete=models.PROTECT, related_name="video_links")

    def __str__(self) -> str:
        return f"{self.character_id} in {self.video_id}"


class RevenueEvent(models.Model):
    """Money a published video earned; ``external_id`` makes a replayed event a no-op."""

    video = models.ForeignKey("videos.Video", on_delete=models.PROTECT, related_name="revenue_events")
    kind = models.CharField(max_length=20)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    external_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} for video {self.video_id}"


class LedgerEntry(models.Model):
    """Append-only: one party's share of one revenue event. Corrections are new entries."""

    class Party(models.TextChoices):
        CREATOR = "creator", "Creator"
        CAMEO_OWNER = "cameo_owner", "Cameo owner"
        ANCESTOR = "ancestor", "Creator of a remixed ancestor"
        RIGHTS_HOLDER = "rights_holder", "Rights holder"
        PLATFORM = "platform", "Platform"

    event = models.ForeignKey(RevenueEvent, on_delete=models.PROTECT, related_name="entries")
    party = models.CharField(max_length=15, choices=Party.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(RightsHolder, null=True, on_delete=models.PROTECT, related_name="ledger_entries")
    character = models.ForeignKey(Character, null=True, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.party} {self.amount_minor} {self.currency}"
