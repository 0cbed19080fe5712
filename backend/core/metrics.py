"""Prometheus metrics, served at ``/metrics`` to a scraper that presents ``METRICS_TOKEN``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``make run``, the Docker image), every gunicorn worker and
Celery pool process writes its metrics to files there and a scrape adds them up; the directory is
emptied before the processes start (prometheus_client's multiprocess mode). Without it, a
process reports only its own, which is what a test or a shell sees.
"""

from __future__ import annotations

import hmac
import os

from celery import current_app
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Every metric of the service is defined here, and each is counted in one place: the code that owns
# the event (named in the comment). docs/operations.md says what each means and which alerts use it.

# backend/core/middleware.py. ``route`` is the URL pattern, never the path (ids would make a series each).
REQUEST_SECONDS = Histogram(
    "remix_http_request_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class (2xx, 4xx, 5xx).",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# media/services/jobs.py ``job_stage_timed``, around every stage of the render and post-processing workers.
RENDER_STAGE_SECONDS = Histogram(
    "remix_render_stage_seconds",
    "Time a render spent in one stage (rendering, downloading, storing, post_processing, publishing), by provider.",
    ["provider", "stage"],
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
# media/services/jobs.py ``job_finish``: every way a render ends. Renders cancelled are
# ``status="cancelled"``, with the reason as ``code`` (cancelled_by_user, consent_withdrawn, ...).
RENDERS_FINISHED = Counter(
    "remix_renders_finished",
    "Renders that ended, by provider, final status (succeeded, failed, cancelled) and error code.",
    ["provider", "status", "code"],
)
# media/services/worker.py, where a provider's error reaches the job.
PROVIDER_ERRORS = Counter(
    "remix_provider_errors",
    "Errors from outside providers (render models), by provider, code and whether a retry may help.",
    ["provider", "code", "transient"],
)

# ``queue_depths_record`` below, run by beat every 30 s (backend/core/tasks.py): a gauge read at scrape time
# cannot see the broker from a multiprocess registry, so the latest value written by any process wins.
QUEUE_DEPTH = Gauge(
    "remix_celery_queue_depth",
    "Messages waiting in a Celery queue on the broker, as last read by beat's queue_depths_record.",
    ["queue"],
    multiprocess_mode="mostrecent",
)

# feeds/services.py ``feed_page_serve``.
FEED_PAGES = Counter(
    "remix_feed_pages",
    "Feed pages served, by feed kind and source: redis (the precomputed feed) or postgres (the fallback).",
    ["kind", "source"],
)

# backend/cameos/receivers.py: every ``consent_withdrawn`` event, by reason.
CONSENT_WITHDRAWALS = Counter(
    "remix_consent_withdrawals",
    "Events that narrowed who may use a cameo (grant revoked, audience changed, block, deletion), by reason.",
    ["reason"],
)

# notifications/delivery.py ``push_send``: one per device and attempt.
NOTIFICATION_DELIVERIES = Counter(
    "remix_notification_deliveries",
    "Pushes sent to a device, by provider and outcome: delivered, retry (transient), token_dead, rejected.",
    ["provider", "outcome"],
)


def queue_depths_record() -> None:
    """Read each Celery queue's length on the broker into ``QUEUE_DEPTH`` (beat's task, every 30 s)."""
    names = [queue.name for queue in current_app.conf.task_queues]
    with current_app.connection_for_read() as connection:
        if connection.transport.driver_type == "redis":
            # kombu's client adds the broker's key prefix. No task sets a priority, so every message
            # waits on the queue's own list (kombu keeps one list per priority).
            client = connection.default_channel.client
            depths = {name: client.llen(name) for name in names}
        else:  # RabbitMQ: a passive declare answers the count of messages ready (not those a worker holds)
            depths = {}
            for name in names:
                try:
                    with connection.channel() as channel:
                        depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except connection.channel_errors:  # not declared yet: no worker took from it, nothing waits
                    depths[name] = 0
    for name, depth in depths.items():
        QUEUE_DEPTH.labels(queue=name).set(depth)


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
