"""Push providers, chosen per deployment by ``PUSH_PROVIDER`` (``log`` by default, ``fcm`` in production)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.providers.base import PushProvider

PROVIDERS = {
    "log": "notifications.providers.log.LogProvider",
    "fcm": "notifications.providers.fcm.FcmProvider",
}


def get_provider() -> PushProvider:
    name = settings.PUSH_PROVIDER
    return import_string(PROVIDERS[name])(**settings.PUSH_PROVIDER_OPTIONS.get(name, {}))
