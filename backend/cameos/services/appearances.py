"""Where a cameo appears: recorded by the render pipeline, taken down by the cameo's owner."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos.events import appearances_taken_down
from backend.cameos.models import Appearance, Cameo
from backend.core.errors import NotFound
from backend.creators.models import User


def appearance_record(*, cameo: Cameo, video) -> Appearance:
    """Link a cameo to a draft or video that uses it (the render pipeline calls this). Idempotent."""
    appearance, _ = Appearance.objects.get_or_create(cameo=cameo, video=video)
    return appearance


@transaction.atomic
def appearance_remove(*, cameo: Cameo, by: User, video_id: int) -> Appearance:
    """The cameo's owner takes down a video that uses their likeness, for everyone (audited by
    ``video_remove``). Idempotent."""
    if cameo.owner_id != by.id or cameo.status == Cameo.Status.DELETED:
        raise NotFound(_("No such cameo."))
    appearance = Appearance.objects.select_related("video").filter(cameo=cameo, video_id=video_id).first()
    if appearance is None:
        raise NotFound(_("This video does not use this cameo."))
    appearances_taken_down.send(
        sender=None, video_ids=[video_id], by=by, reason=f"removed by the owner of cameo {cameo.id}"
    )
    if appearance.removed_by_owner_at is None:
        appearance.removed_by_owner_at = timezone.now()
        appearance.save(update_fields=["removed_by_owner_at"])
    return appearance
