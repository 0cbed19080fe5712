from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Cameo(models.Model):
    """A consented likeness: a person, or a character (a pet, an object) they own."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        CHARACTER = "character", "Character (pet or object)"

    class Status(models.TextChoices):
        PENDING_VERIFICATION = "pending_verification", "Pending verification"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        DELETED = "deleted", "Deleted"

    class Audience(models.TextChoices):
        ONLY_ME = "only_me", "Only me"
        APPROVED = "approved", "People I approve"
        MUTUALS = "mutuals", "Mutuals"
        EVERYONE = "everyone", "Everyone"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    display_name = models.CharField(max_length=60)
    status = models.CharField(max_length=24, choices=Status.choices, db_index=True)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ONLY_ME)
    # Travel with every render request that uses the cameo.
    appearance_notes = models.CharField(max_length=500, blank=True)
    restrictions = models.CharField(max_length=500, blank=True, help_text='e.g. "never drinking, no politics"')
    # Names in the private store; never served publicly.
    reference_image = models.CharField(max_length=300, blank=True)
    reference_clip = models.CharField(max_length=300, blank=True)
    voice_sample = models.CharField(max_length=300, blank=True)
    # Set by a moderator when a verified person is on the protected list: only
    # they may then render that name.
    protected_likeness = models.ForeignKey(
        "ProtectedLikeness", null=True, blank=True, on_delete=models.SET_NULL, related_name="verified_cameos"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # When its owner deleted it, and when every file under its storage prefix was purged since
    # (``data_rights``: at most CAMEO_PURGE_DAYS later, whatever a failed delete left behind).
    deleted_at = models.DateTimeField(null=True, blank=True)
    media_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(kind="person") & ~models.Q(status="deleted"),
                name="cameo_one_person_per_owner",
            ),
        ]
        indexes = [models.Index(fields=["audience", "status"], name="cameo_audience_status")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.kind}, @{self.owner.handle})" if self.owner_id else self.display_name

    def reference_image_names(self) -> list[str]:
        return [self.reference_image] if self.reference_image else []

    @property
    def private_media_names(self) -> list[str]:
        return [name for name in (self.reference_image, self.reference_clip, self.voice_sample) if name]


class CameoVerification(models.Model):
    """A challenge issued to a person cameo's owner, and the clip answering it."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        SUBMITTED = "submitted", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="verifications")
    phrase = models.CharField(max_length=120)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED, db_index=True)
    clip = models.CharField(max_length=300, blank=True)
    clip_duration_s = models.FloatField(null=True, blank=True)
    clip_width = models.PositiveIntegerField(null=True, blank=True)
    clip_height = models.PositiveIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    verifier = models.CharField(max_length=60, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "verification"

    def __str__(self) -> str:
        return f"verification of {self.cameo_id} ({self.status})"


class CameoGrant(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="grants")
    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_grants")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cameo", "grantee"], name="grant_once_per_person")]
        indexes = [models.Index(fields=["grantee", "status"], name="grant_grantee_status")]

    def __str__(self) -> str:
        return f"{self.grantee_id} → cameo {self.cameo_id} ({self.status})"


class Appearance(models.Model):
    """A cameo in a draft or a video; the cameo's owner sees and may remove every one."""

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="appearances")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="appearances")
    created_at = models.DateTimeField(default=timezone.now)
    removed_by_owner_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cameo", "video"], name="appearance_once")]
        indexes = [models.Index(fields=["video"], name="appearance_video")]

    def __str__(self) -> str:
        return f"cameo {self.cameo_id} in video {self.video_id}"


class ProtectedLikeness(models.Model):
    """A name that may not be rendered unless its person owns a verified cameo."""

    class Kind(models.TextChoices):
        PUBLIC_FIGURE = "public_figure", "Public figure"
        ESTATE_OPT_OUT = "estate_opt_out", "Estate opted out"

    name = models.CharField(max_length=120)
    aliases = models.TextField(
        blank=True, help_text="One alias per line: nicknames, other scripts (ノヴァ・スターリング for Nova Starling)."
    )
    exceptions = models.TextField(
        blank=True, help_text="Phrases that contain a name or alias but name someone else, one per line (Nova Scotia)."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PUBLIC_FIGURE)
    requested_by = models.CharField(max_length=200, blank=True, help_text="Who asked (estates).")
    requested_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)  # the name guard recompiles when this moves

    class Meta:
        verbose_name_plural = "protected likenesses"

    def __str__(self) -> str:
        return self.name

    @property
    def terms(self) -> list[str]:
        return [self.name, *(alias.strip() for alias in self.aliases.splitlines() if alias.strip())]


class Upload(models.Model):
    """A file a phone sends straight to storage (a presigned S3 form, or our local endpoint under ``make run``),
    then names by id where an endpoint takes a file. A worker checks it before any use
    (``services.direct_uploads``): ``pending`` (the form was issued) → ``verified`` | ``rejected``.

    Here, below media, because the cameo endpoints take uploads and the layers forbid cameos reaching up.
    """

    class Kind(models.TextChoices):
        CAMEO_CLIP = "cameo_clip", "Cameo clip"
        REFERENCE_CLIP = "reference_clip", "Reference clip"
        VERIFICATION_CLIP = "verification_clip", "Verification clip"
        VOICE_SAMPLE = "voice_sample", "Voice sample"
        REFERENCE_IMAGE = "reference_image", "Reference image"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, unique=True, help_text="Its name in the private store.")
    content_type = models.CharField(max_length=100, help_text="As declared; bound in the upload's policy.")
    size = models.PositiveBigIntegerField(help_text="Bytes, as declared: the most the policy lets through.")
    multipart_id = models.CharField(max_length=200, blank=True, help_text="S3's UploadId of a multipart upload.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was rejected.")
    received_at = models.DateTimeField(null=True, blank=True, help_text="When the file was there to check.")
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} upload {self.id} ({self.status})"
