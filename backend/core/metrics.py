"""Prometheus metrics, served at ``/metrics`` to a scraper that presents ``METRICS_TOKEN``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``make run``, the Docker image), every gunicorn worker and
Celery pool process writes its metrics to files there and a scrape adds them up; the directory is
emptied before the processes start (prometheus_client's multiprocess mode). Without it, a
process reports only its own, which is what a test or a shell sees.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

PROVIDER_ERRORS = Counter(
    "remix_provider_errors",
    "Errors from outside providers (render models), by provider, code and whether a retry may help.",
    ["provider", "code", "transient"],
)


def _registry() -> CollectorRegistry:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Not public: without the token (or with none configured) it does not exist."""
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not settings.METRICS_TOKEN or not hmac.compare_digest(presented.encode(), settings.METRICS_TOKEN.encode()):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
