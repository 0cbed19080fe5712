from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class BlockedTerm(models.Model):
    """A word or phrase that prompts may not contain (matched like protected names)."""

    term = models.CharField(max_length=120, unique=True)
    aliases = models.TextField(blank=True, help_text="One alias per line: other spellings, other scripts.")
    reason = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)  # the name guard recompiles when this moves

    def __str__(self) -> str:
        return self.term

    @property
    def terms(self) -> list[str]:
        return [self.term, *(alias.strip() for alias in self.aliases.splitlines() if alias.strip())]


class Case(models.Model):
    """All reports about one object, triaged together; the review queue orders cases by priority."""

    class TargetType(models.TextChoices):
        VIDEO = "video", "Video"
        COMMENT = "comment", "Comment"
        CREATOR = "creator", "Creator"
        CAMEO = "cameo", "Cameo"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    # The API names a target by these words; the database by its content type (``app_label``, ``model``).
    TARGET_MODELS = {
        TargetType.VIDEO.value: ("videos", "video"),
        TargetType.COMMENT.value: ("videos", "comment"),
        TargetType.CREATOR.value: ("creators", "user"),
        TargetType.CAMEO.value: ("cameos", "cameo"),
    }

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    priority = models.IntegerField(default=0, db_index=True)
    reporter_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id"], condition=models.Q(status="open"), name="one_open_case_per_target"
            ),
        ]
        ordering = ["-priority", "created_at"]

    def __str__(self) -> str:
        return f"{self.target_type} {self.target_id} ({self.status}, priority {self.priority})"

    @classmethod
    def target_content_type(cls, target_type: str) -> ContentType:
        """The content type of a target named as the API names it (cached: no query after the first)."""
        return ContentType.objects.get_by_natural_key(*cls.TARGET_MODELS[target_type])

    @classmethod
    def about(cls, target_type: str, target_id: int) -> dict:
        """Lookup arguments for the cases about one target: ``Case.objects.filter(**Case.about("video", 7))``."""
        return {"content_type": cls.target_content_type(target_type), "object_id": target_id}

    @property
    def target_type(self) -> str:
        """The target's kind as the API names it ("video", "comment", "creator", "cameo")."""
        content_type = ContentType.objects.get_for_id(self.content_type_id)
        key = (content_type.app_label, content_type.model)
        return next(name for name, model in self.TARGET_MODELS.items() if model == key)

    @target_type.setter
    def target_type(self, value: str) -> None:
        self.content_type = self.target_content_type(value)

    @property
    def target_id(self) -> int:
        return self.object_id

    @target_id.setter
    def target_id(self, value: int) -> None:
        self.object_id = value


class Report(models.Model):
    class Reason(models.TextChoices):
        CAMEO_MISUSE = "cameo_misuse", "Misuse of my or someone's likeness"
        SEXUAL = "sexual", "Sexual content"
        MINOR_SAFETY = "minor_safety", "Endangers a minor"
        VIOLENCE = "violence", "Violence or gore"
        HATE = "hate", "Hate or harassment"
        SELF_HARM = "self_harm", "Self-harm"
        MISINFORMATION = "misinformation", "Misleading or impersonation"
        SPAM = "spam", "Spam"
        COPYRIGHT = "copyright", "Copyright or a rights holder's character"
        OTHER = "other", "Something else"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.CharField(max_length=1000, blank=True)
    by_cameo_owner = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "reporter"], name="one_report_per_reporter_per_case")]

    def __str__(self) -> str:
        return f"{self.reason} by {self.reporter_id}"


class Strike(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strikes")
    reason = models.CharField(max_length=300)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="strikes")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"strike on {self.user_id} until {self.expires_at:%Y-%m-%d}"
