"""Direct uploads: large files go from the phone straight to storage, not through a web worker.

``upload_request`` records an ``Upload`` and returns how to send the file: on S3 a presigned POST form
whose policy binds the key, the declared Content-Type and the size (``content-length-range``), or, for
files over ``DIRECT_UPLOAD_MULTIPART_BYTES``, an S3 multipart upload with a presigned URL per part
(resumable: a part that failed is sent again alone); on the local disk (``make run``) the same kind of
form aimed at our own endpoint (``upload_receive``), which enforces the same limits. Once the file is
there (``upload_complete``, or at once on the local endpoint) a worker checks it (``upload_verify``):
real media of the declared kind within its bounds, stripped of metadata, or rejected with a reason and
deleted. Endpoints that take a file accept a verified upload's id instead (``upload_open``).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos import tasks, uploads
from backend.cameos.models import Upload
from backend.core import outbox, storage
from backend.core.errors import Conflict, DomainError, NotFound

_SALT = "cameos.direct_upload"
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/3gpp"}
AUDIO_TYPES = {"audio/mp4", "audio/x-m4a", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wav", "audio/x-wav",
               "audio/flac", "audio/webm"}  # fmt: skip
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}


def _limits(kind: str) -> tuple[set[str], int]:
    """The content types a kind may declare and its most bytes (the limits of the multipart endpoints)."""
    if kind == Upload.Kind.REFERENCE_IMAGE:
        return IMAGE_TYPES, settings.CAMEO_IMAGE_MAX_BYTES
    if kind == Upload.Kind.VOICE_SAMPLE:
        return AUDIO_TYPES, settings.CAMEO_CLIP_MAX_BYTES
    return VIDEO_TYPES, settings.CAMEO_CLIP_MAX_BYTES


def _on_s3() -> bool:
    return bool(settings.S3_BUCKET)


def _s3():
    """The boto3 client and bucket behind the private store."""
    store = storage.private()
    return store.connection.meta.client, store.bucket_name


def _object_key(upload: Upload) -> str:
    return storage.private()._normalize_name(upload.key)


@transaction.atomic
def upload_request(*, owner, kind: str, content_type: str, size: int) -> tuple[Upload, dict]:
    """Record an upload of ``kind`` and return it with how to send the file (see the module's docstring)."""
    types, max_bytes = _limits(kind)
    if content_type not in types:
        raise DomainError(
            _("A %(kind)s upload may be one of: %(types)s.") % {"kind": kind, "types": ", ".join(sorted(types))},
            code="unsupported_content_type",
            details={"content_types": sorted(types)},
        )
    if size > max_bytes:
        raise uploads.UploadTooLarge(
            _("This upload may be at most %(bytes)d bytes.") % {"bytes": max_bytes}, details={"max_bytes": max_bytes}
        )
    upload_id = uuid.uuid4()
    upload = Upload.objects.create(
        id=upload_id, owner=owner, kind=kind, key=f"uploads/{owner.id}/{upload_id}", content_type=content_type,
        size=size,
    )  # fmt: skip
    expires_s = settings.DIRECT_UPLOAD_EXPIRY_S
    instructions = {"expires_at": (timezone.now() + timedelta(seconds=expires_s)).isoformat()}
    if not _on_s3():
        token = signing.dumps(str(upload.id), salt=_SALT)
        url = settings.SITE_URL + reverse("upload-file", kwargs={"upload_id": upload.id})
        return upload, instructions | {"method": "POST", "url": url, "fields": {"token": token}, "file_field": "file"}
    client, bucket = _s3()
    key = _object_key(upload)
    if size > settings.DIRECT_UPLOAD_MULTIPART_BYTES:
        part_size = settings.DIRECT_UPLOAD_PART_BYTES
        started = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
        upload.multipart_id = started["UploadId"]
        upload.save(update_fields=["multipart_id"])
        parts = [
            {
                "number": number,
                "url": client.generate_presigned_url(
                    "upload_part",
                    Params={"Bucket": bucket, "Key": key, "UploadId": upload.multipart_id, "PartNumber": number},
                    ExpiresIn=expires_s,
                ),
            }
            for number in range(1, math.ceil(size / part_size) + 1)
        ]
        return upload, instructions | {"method": "PUT", "part_size": part_size, "parts": parts}
    form = client.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
        ExpiresIn=expires_s,
    )
    return upload, instructions | {"method": "POST", "url": form["url"], "fields": form["fields"], "file_field": "file"}


def upload_of(*, owner, upload_id, lock: bool = False) -> Upload:
    """The caller's upload (``lock``: the row locked, inside the caller's transaction); someone else's is a
    404, as if it did not exist."""
    uploads_of_owner = Upload.objects.filter(owner=owner)
    upload = (uploads_of_owner.select_for_update() if lock else uploads_of_owner).filter(id=upload_id).first()
    if upload is None:
        raise NotFound(_("No such upload."))
    return upload


def _reject(upload: Upload, *, reason: str) -> None:
    """Caller holds the row lock. The object goes once the rejection commits."""
    upload.status, upload.reason = Upload.Status.REJECTED, reason[:300]
    upload.save(update_fields=["status", "reason"])
    key = upload.key
    transaction.on_commit(lambda: storage.private().delete(key))


@transaction.atomic
def upload_complete(*, owner, upload_id, parts: list[dict] | None = None) -> Upload:
    """The phone says the file is sent (with each part's ETag, for a multipart upload): check what S3 holds
    against what was declared and queue the worker's check. Idempotent."""
    upload = upload_of(owner=owner, upload_id=upload_id, lock=True)
    if upload.received_at is not None or upload.status != Upload.Status.PENDING:
        return upload
    if _on_s3():
        client, bucket = _s3()
        key = _object_key(upload)
        if upload.multipart_id:
            if not parts:
                raise DomainError(_("Send the ETag of every part."), code="parts_required")
            ordered = sorted(({"PartNumber": int(p["number"]), "ETag": str(p["etag"])} for p in parts),
                             key=lambda part: part["PartNumber"])  # fmt: skip
            try:
                client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload.multipart_id, MultipartUpload={"Parts": ordered}
                )
            except client.exceptions.ClientError as error:
                raise DomainError(_("The parts do not make the file; send the missing ones again."),
                                  code="incomplete_upload") from error  # fmt: skip
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except client.exceptions.ClientError as error:
            raise Conflict(_("The file has not arrived yet."), code="upload_missing") from error
        if head["ContentLength"] > upload.size or head.get("ContentType", upload.content_type) != upload.content_type:
            # S3's policy binds both for a form; a multipart upload's parts are bound only here.
            _reject(upload, reason="file_too_large: larger than declared, or of another type")
            return upload
    elif not storage.private().exists(upload.key):
        raise Conflict(_("The file has not arrived yet."), code="upload_missing")
    upload.received_at = timezone.now()
    upload.save(update_fields=["received_at"])
    _queue_verify(upload)
    return upload


def _queue_verify(upload: Upload) -> None:
    outbox.enqueue(tasks.upload_verify, upload_id=str(upload.id))


def upload_receive(*, upload_id, token: str, file, content_type: str) -> Upload:
    """The local endpoint (no S3): the same limits S3's policy would enforce, then the worker's check."""
    try:
        if signing.loads(token, salt=_SALT, max_age=settings.DIRECT_UPLOAD_EXPIRY_S) != str(upload_id):
            raise signing.BadSignature()
    except signing.BadSignature:
        raise NotFound(_("No such upload.")) from None
    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(id=upload_id).first()
        if upload is None:
            raise NotFound(_("No such upload."))
        if upload.received_at is not None:
            return upload
        if not 0 < file.size <= upload.size:
            raise uploads.UploadTooLarge(_("The file is larger than declared."), details={"max_bytes": upload.size})
        if content_type != upload.content_type:
            raise DomainError(_("The file is not of the declared type."), code="unsupported_content_type")
        storage.private().save(upload.key, file)
        upload.received_at = timezone.now()
        upload.save(update_fields=["received_at"])
        _queue_verify(upload)
    return upload


@contextmanager
def _checked(upload: Upload, source: File) -> Iterator[File]:
    """The kind's own checks (``backend.cameos.uploads``): a clean file to store instead, or ``BadUpload``."""
    if upload.kind == Upload.Kind.REFERENCE_IMAGE:
        yield uploads.reencoded_image(source)
        return
    with ExitStack() as stack:
        if upload.kind == Upload.Kind.VOICE_SAMPLE:
            clean = stack.enter_context(
                uploads.cleaned_voice(source, min_s=settings.CAMEO_VOICE_MIN_S, max_s=settings.CAMEO_VOICE_MAX_S)
            )
        else:
            need_audio = upload.kind == Upload.Kind.VERIFICATION_CLIP
            clean = stack.enter_context(
                uploads.cleaned_clip(
                    source, min_s=settings.CAMEO_CLIP_MIN_S, max_s=settings.CAMEO_CLIP_MAX_S, need_audio=need_audio
                )
            )
        yield stack.enter_context(clean.open())


def upload_verify(*, upload_id: str) -> str:
    """The worker's check: real media of the declared kind within its bounds, re-stored without metadata
    (verified), or rejected with the check's reason and deleted. Idempotent; returns the status."""
    upload = Upload.objects.filter(id=upload_id).first()
    if upload is None or upload.status != Upload.Status.PENDING or upload.received_at is None:
        return upload.status if upload else "missing"
    store = storage.private()
    with tempfile.TemporaryDirectory(prefix="upload-") as workdir:
        local = storage.download(store, upload.key, Path(workdir) / "source")
        try:
            with open(local, "rb") as handle, _checked(upload, File(handle, name=local.name)) as clean:
                cleaned = Path(workdir) / "clean"
                with open(cleaned, "wb") as target:
                    for chunk in clean.chunks():
                        target.write(chunk)
        except uploads.BadUpload as refusal:
            with transaction.atomic():
                locked = Upload.objects.select_for_update().get(id=upload.id)
                if locked.status == Upload.Status.PENDING:
                    _reject(locked, reason=f"{refusal.detail.code}: {refusal.detail}")
            return Upload.Status.REJECTED
        storage.upload(store, cleaned, upload.key)  # the metadata-free copy replaces what the phone sent
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(id=upload.id)
        if locked.status == Upload.Status.PENDING:
            locked.status, locked.verified_at = Upload.Status.VERIFIED, timezone.now()
            locked.save(update_fields=["status", "verified_at"])
    return Upload.Status.VERIFIED


@contextmanager
def upload_open(*, owner, upload_id, kinds: set[str]) -> Iterator[File]:
    """A verified upload of the caller, open for a service that takes a file; the upload is used up (row
    and object deleted) once the caller's write commits."""
    upload = upload_of(owner=owner, upload_id=upload_id)
    if upload.kind not in kinds:
        kinds_list = ", ".join(sorted(kinds))
        raise DomainError(_("This field takes an upload of this kind: %(kinds)s.") % {"kinds": kinds_list},
                          code="upload_wrong_kind")  # fmt: skip
    if upload.status == Upload.Status.REJECTED:
        raise DomainError(_("This upload was rejected (%(reason)s).") % {"reason": upload.reason},
                          code="upload_rejected")  # fmt: skip
    if upload.status != Upload.Status.VERIFIED:
        raise Conflict(_("This upload is still being checked; try again shortly."), code="upload_not_verified",
                       retry_after_s=2)  # fmt: skip
    with storage.private().open(upload.key, "rb") as handle:
        yield handle
    key = upload.key
    Upload.objects.filter(id=upload.id).delete()
    transaction.on_commit(lambda: storage.private().delete(key))


def uploads_sweep(*, now=None) -> int:
    """Forget uploads nobody will use: never sent or never completed past their form's life, rejected, or
    verified but left unused for a day; their objects (and an unfinished multipart upload's parts) go too.
    Idempotent; returns how many went."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.DIRECT_UPLOAD_EXPIRY_S) - timedelta(days=1)
    gone = 0
    for upload in Upload.objects.filter(created_at__lt=stale).order_by("created_at")[:500]:
        if upload.multipart_id and _on_s3():
            client, bucket = _s3()
            with contextlib.suppress(client.exceptions.ClientError):  # completed, or aborted by an earlier sweep
                client.abort_multipart_upload(Bucket=bucket, Key=_object_key(upload), UploadId=upload.multipart_id)
        storage.private().delete(upload.key)
        Upload.objects.filter(id=upload.id).delete()
        gone += 1
    return gone
