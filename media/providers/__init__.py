"""Video-generation providers, chosen per deployment by ``RENDER_PROVIDER``."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from media.providers.base import Provider

PROVIDERS = {
    "preview": "media.providers.preview.PreviewProvider",
    "veo": "media.providers.veo.VeoProvider",
    "cog": "media.providers.cog.CogProvider",
    "replicate": "media.providers.replicate.ReplicateProvider",
}


def get_provider(name: str) -> Provider:
    """The provider a job was requested with (its name is stored on the job)."""
    options = settings.RENDER_PROVIDER_OPTIONS.get(name, {})
    return import_string({**PROVIDERS, **settings.RENDER_PROVIDER_CLASSES}[name])(**options)
