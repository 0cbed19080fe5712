"""/metrics: not public, one scrape adds up every process of the deployment, and it shows what the service does."""

import subprocess
import sys

import pytest
from celery import current_app
from django.conf import settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from backend.cameos import services as cameo_services
from backend.core import metrics, outbox
from feeds import tasks as feed_tasks
from media import services
from media.models import RenderJob
from tests.factories import CameoGrantFactory, RenderJobFactory, UserFactory
from tests.feeds.conftest import redis_unreachable
from tests.workers import ROOT

pytestmark = pytest.mark.django_db

INCREMENT = (
    "from backend.core import metrics; metrics.PROVIDER_ERRORS.labels('veo', 'provider_rate_limited', 'true').inc({n})"
)


def test_without_the_token_there_is_no_metrics_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404


def test_a_scrape_adds_up_what_every_process_counted(client, settings, tmp_path, monkeypatch):
    settings.METRICS_TOKEN = "scrape-secret"
    # Two processes (a gunicorn worker, a Celery pool process) count into the shared directory.
    for n in (2, 3):
        env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-c", INCREMENT.format(n=n)], cwd=ROOT, env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")

    assert response.status_code == 200
    assert (
        'remix_provider_errors_total{code="provider_rate_limited",provider="veo",transient="true"} 5.0'
        in response.content.decode()
    )


def scrape(client) -> dict[tuple[str, tuple], float]:
    """What a Prometheus scraper reads at /metrics: every sample by name and labels."""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_a_scrape_shows_requests_render_stages_and_outcomes_and_feed_pages(
    client, client_for, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = "scrape-secret"
    monkeypatch.setattr(outbox, "_send_now", lambda message_id: None)  # the messages stay in the outbox
    viewer = client_for(UserFactory())

    # A request, a feed page from Redis and one from the PostgreSQL fallback.
    assert client.get("/healthz").status_code == 200
    assert viewer.get("/api/v1/feed").status_code == 200
    with redis_unreachable(settings):
        assert viewer.get("/api/v1/feed").status_code == 200
    # A render with the local preview provider, from request to a stored draft.
    job = RenderJobFactory(provider="preview")
    with django_capture_on_commit_callbacks(execute=True):
        services.render_job_execute(job_id=str(job.id))
        services.render_job_postprocess(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == RenderJob.Status.SUCCEEDED

    samples = scrape(client)

    def value(name: str, **labels) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("remix_http_request_seconds_count", route="healthz", method="GET", status="2xx") >= 1
    assert value("remix_http_request_seconds_count", route="api/v1/feed", method="GET", status="2xx") >= 2
    assert value("remix_feed_pages_total", kind="for_you", source="redis") >= 1
    assert value("remix_feed_pages_total", kind="for_you", source="postgres") >= 1
    for stage in ("rendering", "downloading", "storing", "post_processing", "publishing"):
        assert value("remix_render_stage_seconds_count", provider="preview", stage=stage) >= 1
    assert value("remix_renders_finished_total", provider="preview", status="succeeded", code="") >= 1


def test_beat_records_how_many_messages_wait_in_each_queue():
    queue = f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}feeds"
    with current_app.connection_for_write() as connection:
        connection.default_channel.client.delete(queue)
    try:
        for user_id in (1, 2, 3):
            feed_tasks.feed_refill.delay(user_id=user_id)

        metrics.queue_depths_record()

        assert REGISTRY.get_sample_value("remix_celery_queue_depth", {"queue": "feeds"}) == 3
        assert REGISTRY.get_sample_value("remix_celery_queue_depth", {"queue": "notifications"}) is not None
    finally:
        with current_app.connection_for_write() as connection:
            connection.default_channel.client.delete(queue)


def test_a_withdrawn_consent_is_counted_once_after_its_commit(django_capture_on_commit_callbacks):
    def withdrawals() -> float:
        return REGISTRY.get_sample_value("remix_consent_withdrawals_total", {"reason": "grant_revoked"}) or 0.0

    grant = CameoGrantFactory(status="approved")
    before = withdrawals()

    with django_capture_on_commit_callbacks(execute=True):
        cameo_services.grant_revoke(grant=grant, by=grant.cameo.owner)
    cameo_services.grant_revoke(grant=grant, by=grant.cameo.owner)  # again: nothing more was withdrawn

    assert withdrawals() - before == 1
