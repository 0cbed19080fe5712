from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone, translation
from django.utils.functional import Promise

from backend.core.i18n import Translatable

RESOLUTION_SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080}


class RenderJob(models.Model):
    """One request to turn a prompt (and cameos, a source video) into a draft video.

    queued → running → succeeded | failed | cancelled; ``blocked`` when prompt
    policy refused it at request time (kept so moderators see refusals).
    """

    class Kind(models.TextChoices):
        GENERATE = "generate", "Generate"
        REMIX = "remix", "Remix"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        BLOCKED = "blocked", "Blocked"

    class Aspect(models.TextChoices):
        PORTRAIT = "9:16", "9:16 portrait"
        LANDSCAPE = "16:9", "16:9 landscape"
        SQUARE = "1:1", "1:1 square"

    class Resolution(models.TextChoices):
        SD = "480p", "480p"
        HD = "720p", "720p"
        FULL_HD = "1080p", "1080p"

    class Stage(models.TextChoices):
        """Where a job is; the worker, the reaper and retries decide by it (blank before the first claim)."""

        STARTING = "starting", "Starting"
        RENDERING = "rendering", "Rendering"
        DOWNLOADING = "downloading", "Downloading"
        STORING = "storing", "Storing"
        AWAITING_POST_PROCESSING = "awaiting_post_processing", "Awaiting post-processing"
        POST_PROCESSING = "post_processing", "Post-processing"
        DONE = "done", "Done"
        WAITING_TO_RETRY = "waiting_to_retry", "Waiting to retry"
        REQUEUED_AFTER_WORKER_LOSS = "requeued_after_worker_loss", "Requeued after worker loss"
        RETRY_REQUESTED = "retry_requested", "Retry requested"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.BLOCKED)
    ACTIVE = (Status.QUEUED, Status.RUNNING)
    ERROR_FIELDS = ["error_code", "error_message", "error_message_source"]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="render_jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERATE)
    prompt = models.TextField(max_length=2000)
    duration_s = models.PositiveSmallIntegerField()
    aspect = models.CharField(max_length=5, choices=Aspect.choices, default=Aspect.PORTRAIT)
    resolution = models.CharField(max_length=5, choices=Resolution.choices, default=Resolution.HD)
    cameos = models.ManyToManyField("cameos.Cameo", blank=True, related_name="render_jobs")
    characters = models.ManyToManyField("rights.Character", blank=True, related_name="render_jobs")
    source_video = models.ForeignKey(
        "videos.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="remix_jobs"
    )
    reference_image = models.CharField(max_length=300, blank=True, help_text="Private storage name.")
    # The video made here that the reference image was recognised as (provenance match): its
    # likenesses, characters and visibility limits travel into the result, as a remix source's do.
    reference_video = models.ForeignKey(
        "videos.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="reference_jobs"
    )
    # Categories an outside moderation model flagged on the prompt (for review), if any.
    moderation_flags = models.JSONField(default=list, blank=True)
    # What the cameo owners asked for, as sent to the provider (a snapshot for audit).
    directions = models.JSONField(default=list, blank=True)

    provider = models.CharField(max_length=20)
    provider_job_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=30, choices=Stage.choices, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)  # in English, for moderators
    # The message as its catalogue entry and arguments (``Translatable.as_json``), read in the reader's language.
    error_message_source = models.JSONField(default=dict, blank=True)
    # Seconds spent in each stage of the last attempt, for the admin.
    stage_seconds = models.JSONField(default=dict, blank=True)
    # The original file the provider returned, while post-processing runs.
    original = models.CharField(max_length=300, blank=True)

    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    result_video = models.OneToOneField(
        "videos.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="render_job"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["requester", "idempotency_key"], name="render_idempotency_key_once"),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="render_progress_percent"),
        ]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="render_requester_recent"),
            models.Index(
                fields=["heartbeat_at"],
                name="render_running_heartbeat",
                condition=models.Q(status="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def set_error(self, *, code: str, message: str | Promise) -> None:
        """Record why the job stopped (the caller saves ``ERROR_FIELDS``). ``message`` is a ``Translatable``,
        a lazy or noop-marked catalogue entry, or a provider's own text."""
        self.error_code = code
        with translation.override("en"):
            self.error_message = (message.render() if isinstance(message, Translatable) else str(message))[:500]
        self.error_message_source = message.as_json() if isinstance(message, Translatable) else {}

    def error_text(self) -> str:
        """Why the job stopped, in the language active now."""
        if self.error_message_source:
            return Translatable.from_json(self.error_message_source).render()
        return translation.gettext(self.error_message) if self.error_message else ""

    @property
    def dimensions(self) -> tuple[int, int]:
        """Width and height; the resolution names the short side, as phones show it."""
        short = RESOLUTION_SHORT_SIDE[self.resolution]
        long = short * 16 // 9 // 2 * 2  # H.264 4:2:0 needs even sides
        return {"9:16": (short, long), "16:9": (long, short), "1:1": (short, short)}[self.aspect]


class VideoFingerprint(models.Model):
    """Perceptual hashes of a published video's frames, for provenance lookup."""

    video = models.OneToOneField("videos.Video", on_delete=models.CASCADE, related_name="fingerprint")
    frame_hashes = ArrayField(models.BigIntegerField())
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"fingerprint of video {self.video_id}"


class ProviderPrediction(models.Model):
    """The latest state a render provider reported for one of its predictions by webhook (Cog, Replicate).

    Written only by ``media.services.predictions`` (a late, older event never undoes a final one), read
    by the provider's ``poll``. The output is a file in private storage (Cog's uploads, decoded data
    URIs) or a URL to fetch from the provider's delivery host (Replicate).
    """

    FINAL = ("succeeded", "failed", "canceled", "aborted")

    provider = models.CharField(max_length=20)
    prediction_id = models.CharField(max_length=200)
    # The provider's own word (starting, processing, succeeded, failed, canceled, aborted).
    status = models.CharField(max_length=20, blank=True)
    output_file = models.CharField(max_length=300, blank=True, help_text="Private storage name.")
    output_url = models.URLField(max_length=2000, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The render job a provider-assigned prediction was created for (Replicate), as its webhook URL
    # says: a job whose worker died before storing the id finds its prediction here, not a new one.
    job_key = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "prediction_id"], name="provider_prediction_once"),
            # An uploaded output belongs to one prediction: another's webhook cannot claim it.
            models.UniqueConstraint(
                fields=["output_file"], name="provider_output_file_once", condition=~models.Q(output_file="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.prediction_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL
