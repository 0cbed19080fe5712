"""Cameo media files: checked before anything is stored, deleted again if the write fails, and
erased only once the write that replaces or deletes them commits."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from backend.cameos import uploads
from backend.cameos.models import Cameo
from backend.core import storage

logger = logging.getLogger(__name__)


def delete_private_now(names: list[str]) -> None:
    for name in names:
        try:
            storage.private().delete(name)
        except Exception:  # storage outage: the row no longer points at it; log for a sweep
            logger.exception("could not delete private media %s", name)


def delete_private_on_commit(names: list[str]) -> None:
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: delete_private_now(names))


@contextmanager
def checked_media(*, reference_image=None, reference_clip=None, voice_sample=None) -> Iterator[dict[str, File]]:
    """Check every upload before anything is stored: ``{field: content ready to store}``.

    Raises ``uploads.BadUpload`` (a 4xx) for the first bad file; temporary files go on exit.
    """
    with ExitStack() as stack:
        ready: dict[str, File] = {}
        if reference_image is not None:
            ready["reference_image"] = uploads.reencoded_image(reference_image)
        if reference_clip is not None:
            clip = stack.enter_context(
                uploads.cleaned_clip(
                    reference_clip, min_s=settings.CAMEO_CLIP_MIN_S, max_s=settings.CAMEO_CLIP_MAX_S, need_audio=False
                )
            )
            ready["reference_clip"] = stack.enter_context(clip.open())
        if voice_sample is not None:
            voice = stack.enter_context(
                uploads.cleaned_voice(voice_sample, min_s=settings.CAMEO_VOICE_MIN_S, max_s=settings.CAMEO_VOICE_MAX_S)
            )
            ready["voice_sample"] = stack.enter_context(voice.open())
        yield ready


def store_media(cameo: Cameo, ready: dict[str, File], stored: list[str]) -> None:
    """Store checked media for ``cameo`` (caller holds its row lock); ``stored`` collects the new names."""
    if not ready:
        return
    names = {}
    for field, content in ready.items():
        extension = os.path.splitext(content.name)[1]
        name = f"cameos/{cameo.id}/{field.replace('_', '-')}-{secrets.token_hex(8)}{extension}"
        names[field] = storage.private().save(name, content)
        stored.append(names[field])
    replaced = [getattr(cameo, field) for field in names]
    for field, name in names.items():
        setattr(cameo, field, name)
    cameo.updated_at = timezone.now()
    cameo.save(update_fields=[*names, "updated_at"])
    delete_private_on_commit(replaced)


@contextmanager
def removing_stored_on_failure() -> Iterator[list[str]]:
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        delete_private_now(stored)
        raise


def cameo_media_purge(*, cameo_id: int) -> int:
    """Erase every file stored under a deleted cameo's prefix (references, voice, verification clips,
    whatever a failed delete or a late upload left) and record it; how many files went. Idempotent."""
    with transaction.atomic():
        cameo = Cameo.objects.select_for_update().get(id=cameo_id)
        if cameo.status != Cameo.Status.DELETED:
            raise ValueError(f"cameo {cameo_id} is not deleted")
        erased = storage.delete_under(storage.private(), f"cameos/{cameo.id}")
        if cameo.media_purged_at is None:
            cameo.media_purged_at = timezone.now()
            cameo.save(update_fields=["media_purged_at"])
    return erased
