"""/metrics: not public, and one scrape adds up every process of the deployment."""

import subprocess
import sys

import pytest

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
