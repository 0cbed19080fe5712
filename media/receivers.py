"""Reactions of the render pipeline to other apps' domain events."""

from django.dispatch import receiver

from backend.cameos.events import consent_withdrawn
from media.services import render_jobs_recheck_cameo


@receiver(consent_withdrawn, dispatch_uid="media.cancel_renders_on_consent_withdrawn")
def cancel_renders_on_consent_withdrawn(sender, *, cameo_id: int, **kwargs) -> None:
    # Synchronous on purpose: revocation must stop queued jobs at once, and a
    # running job sees the cancellation at its next stage boundary.
    render_jobs_recheck_cameo(cameo_id=cameo_id)
