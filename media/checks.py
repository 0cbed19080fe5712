"""System checks: a render provider that cannot finish a render refuses to start (``manage.py check``)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from media.providers import get_provider


@checks.register()
def render_provider_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """RENDER_PROVIDER builds, and its ``configuration_error()`` (Cog without a webhook URL, Replicate
    without a token…) is empty."""
    try:
        provider = get_provider(settings.RENDER_PROVIDER)
        problem = provider.configuration_error() if hasattr(provider, "configuration_error") else ""
    except ImproperlyConfigured as error:
        problem = str(error)
    if not problem:
        return []
    return [checks.Error(problem, obj=f"RENDER_PROVIDER={settings.RENDER_PROVIDER}", id="media.E001")]
