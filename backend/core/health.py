"""``/readyz``: is every store this process needs reachable?

django-health-check answers 500 when a check fails, which a load balancer reads as "this
process is broken"; a dependency that is down is a 503 (with ``Retry-After``), and the body
names each dependency by what it is rather than by the check's repr.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from health_check.views import HealthCheckView
from redis import RedisError
from redis.asyncio import Redis

from backend.core import ffmpeg, redis_clients


def _redis_client() -> Redis:
    return Redis.from_url(settings.REDIS_URL)


DEPENDENCIES: dict[str, Any] = {
    "database": "health_check.checks.Database",
    "cache": "health_check.checks.Cache",
    "redis": ("health_check.contrib.redis.Redis", {"client_factory": _redis_client}),
    "media_private": ("health_check.checks.Storage", {"alias": "default"}),
    "media_public": ("health_check.checks.Storage", {"alias": "public"}),
}


@functools.cache
def _feed_store_client(url: str):
    # Kept per URL, as the feed store keeps its own (a cluster is asked for its slots once), with timeouts
    # short enough for a probe.
    return redis_clients.client_from_url(url, socket_connect_timeout=1, socket_timeout=1)


def feed_store_status() -> dict[str, str]:
    """A feed store of its own (``FEED_REDIS_URL``), said and not failed: while it is away, feed pages
    come from PostgreSQL, so the process still serves and stays in the load balancer."""
    if not settings.FEED_REDIS_URL:
        return {}  # the feed store is the Redis checked above
    try:
        _feed_store_client(settings.FEED_REDIS_URL).ping()
    except RedisError as error:
        return {"feed_store": f"unreachable ({type(error).__name__}): feed pages come from PostgreSQL"}
    return {"feed_store": "OK"}


class ReadinessView(HealthCheckView):
    dependencies: dict[str, Any] = DEPENDENCIES

    @property
    def checks(self):
        return list(self.dependencies.values())

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
            response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER_S)
        return response

    def _statuses(self) -> dict[str, str]:
        # asyncio.gather keeps the order of the checks, which is the order of the names.
        statuses = {
            name: "OK" if result.error is None else str(result.error)
            for name, result in zip(self.dependencies, self.results, strict=True)
        }
        # Said, not checked: a web process does not encode, and libx264 is in every build we ship.
        return statuses | feed_store_status() | {"media_encoder": ffmpeg.encoder_status()}

    def render_to_response_json(self, status):
        return JsonResponse(self._statuses(), status=status)

    def render_to_response_text(self, status):
        lines = "".join(f"{name}: {state}\n" for name, state in self._statuses().items())
        return HttpResponse(lines, content_type="text/plain; charset=utf-8", status=status)
