"""The Replicate adapter against tests/fake_replicate.py, Replicate's HTTP API as its documentation describes it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.test import Client

from backend.core.http import ProviderPermanentError, ProviderTransientError
from media import services
from media.checks import render_provider_configured
from media.models import ProviderPrediction
from media.providers.base import RenderSpec
from media.providers.replicate import ReplicateProvider, webhook_job_key
from tests.factories import RenderJobFactory
from tests.fake_cog import django_sender
from tests.fake_replicate import MODEL, VERSION, FakeReplicate
from tests.media.conftest import private_files
from tests.media_files import make_clip

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "http://testserver/api/v1/webhooks/replicate"
SPEC = RenderSpec(prompt="a corgi surfing", duration_s=5, aspect="9:16", width=720, height=1280, seed=7)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("replicate") / "output.mp4", seconds=1)


@pytest.fixture
def fake(clip):
    server = FakeReplicate(output=clip, sender=django_sender(Client())).start()
    yield server
    server.stop()


@pytest.fixture
def signing(fake, settings):
    settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS,
                                        "replicate": {"webhook_signing_secret": fake.signing_secret}}  # fmt: skip
    return fake.signing_secret


def provider(fake, **options) -> ReplicateProvider:
    return ReplicateProvider(**({"api_token": fake.token, "base_url": fake.url, "version": VERSION} | options))


def created(fake) -> str:
    [prediction_id] = fake.predictions
    return prediction_id


class TestCreate:
    def test_by_version_with_the_id_replicate_assigns(self, fake):
        job = provider(fake).submit(SPEC, key="job-1")
        sent = fake.requests[-1]
        assert (sent.method, sent.path, sent.headers["Authorization"]) == (
            "POST",
            "/v1/predictions",
            "Bearer r8_secret-token",
        )
        assert sent.body["version"] == VERSION and "webhook" not in sent.body
        assert (job.provider_job_id, job.state) == (created(fake), "queued")
        assert job.provider_job_id != "job-1"

    def test_by_model_with_a_webhook(self, fake, signing):
        replicate = provider(fake, version="", model=MODEL, webhook_url=WEBHOOK_URL, webhook_signing_secret=signing)
        replicate.submit(SPEC, key="job-1")
        sent = fake.requests[-1]
        assert sent.path == f"/v1/models/{MODEL}/predictions" and "version" not in sent.body
        webhook, token = sent.body["webhook"].split("?job=")
        assert (webhook, sent.body["webhook_events_filter"]) == (WEBHOOK_URL, ["start", "completed"])
        assert webhook_job_key(token) == "job-1"

    def test_a_job_whose_worker_died_after_the_201_finds_its_prediction_instead_of_creating_another(
        self, fake, signing
    ):
        # Given a prediction created for job-1, whose id the dead worker never stored
        options = {"webhook_url": WEBHOOK_URL, "webhook_signing_secret": signing}
        prediction_id = provider(fake, **options).submit(SPEC, key="job-1").provider_job_id
        fake.advance(prediction_id, "processing")  # its start webhook names the job
        # When the job's next attempt submits again
        job = provider(fake, **options).submit(SPEC, key="job-1")
        # Then it is that prediction, and Replicate created no other (nor billed one)
        assert (job.provider_job_id, job.state) == (prediction_id, "running")
        assert list(fake.predictions) == [prediction_id]
        # And another job still gets its own
        assert provider(fake, **options).submit(SPEC, key="job-2").provider_job_id != prediction_id

    def test_a_wrong_token_is_a_permanent_auth_error(self, fake):
        with pytest.raises(ProviderPermanentError) as refused:
            provider(fake, api_token="r8_wrong").submit(SPEC, key="job-1")
        assert (refused.value.code, refused.value.status) == ("provider_auth", 401)

    def test_a_body_replicate_refuses_is_permanent(self, fake):
        with pytest.raises(ProviderPermanentError) as refused:
            provider(fake, version="0" * 64).submit(SPEC, key="job-1")
        assert (refused.value.code, refused.value.status) == ("provider_invalid_request", 422)
        assert fake.predictions == {}

    def test_throttling_waits_as_long_as_replicate_says(self, fake):
        fake.throttled = 1
        with pytest.raises(ProviderTransientError) as throttled:
            provider(fake).submit(SPEC, key="job-1")
        assert (throttled.value.code, throttled.value.retry_after) == ("provider_rate_limited", 7.0)
        assert provider(fake).submit(SPEC, key="job-1").state == "queued"

    def test_without_a_token_or_model_replicate_refuses_to_start(self, fake, settings):
        with pytest.raises(ProviderPermanentError) as refused:
            provider(fake, api_token="").submit(SPEC, key="job-1")
        assert refused.value.code == "provider_not_configured"
        settings.RENDER_PROVIDER = "replicate"
        settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS, "replicate": {"model": MODEL}}
        [error] = render_provider_configured()
        assert "REPLICATE_API_TOKEN" in error.msg


class TestStatuses:
    @pytest.mark.parametrize(
        ("status", "state", "code"),
        [
            ("starting", "queued", ""),
            ("processing", "running", ""),
            ("succeeded", "succeeded", ""),
            ("failed", "failed", "provider_failed"),
            ("canceled", "cancelled", "provider_cancelled"),
            ("aborted", "failed", "provider_aborted"),  # past its deadline before starting
            ("melted", "failed", "provider_unknown_status"),  # never polled forever
        ],
    )
    def test_every_documented_status_is_mapped_and_an_unknown_one_fails(self, fake, status, state, code):
        replicate = provider(fake)
        prediction_id = replicate.submit(SPEC, key="job-1").provider_job_id
        fake.predictions[prediction_id]["status"] = status
        job = replicate.poll(prediction_id)
        assert (job.state, job.error_code) == (state, code)

    def test_cancel(self, fake):
        replicate = provider(fake)
        prediction_id = replicate.submit(SPEC, key="job-1").provider_job_id
        replicate.cancel(prediction_id)
        assert fake.requests[-1].path == f"/v1/predictions/{prediction_id}/cancel"
        assert replicate.poll(prediction_id).state == "cancelled"


class TestWebhooks:
    def post(self, body: bytes, headers: dict, query: str = ""):
        return Client().post(f"/api/v1/webhooks/replicate{query}", body, content_type="application/json",
                             headers={k: v for k, v in headers.items() if k != "Content-Type"})  # fmt: skip

    def test_a_forged_job_in_a_webhook_url_binds_nothing(self, fake, signing):
        body = json.dumps({"id": "p1", "status": "processing"}).encode()
        assert self.post(body, fake.signed_headers(body), query="?job=forged").status_code == 204
        assert ProviderPrediction.objects.get(prediction_id="p1").job_key == ""

    def test_signed_webhooks_are_kept_and_poll_reads_them(self, fake, signing):
        replicate = provider(fake, webhook_url=WEBHOOK_URL, webhook_signing_secret=signing, webhook_recheck_s=3600)
        prediction_id = replicate.submit(SPEC, key="job-1").provider_job_id
        gets = len(fake.requests)
        fake.advance(prediction_id, "processing")
        assert replicate.poll(prediction_id).state == "running"
        fake.advance(prediction_id, "succeeded")
        assert replicate.poll(prediction_id).state == "succeeded"
        assert len(fake.requests) == gets  # no GET while webhooks arrive
        stored = ProviderPrediction.objects.get(provider="replicate", prediction_id=prediction_id)
        assert stored.output_url == f"{fake.url}/files/output.mp4"

    def test_a_lost_webhook_is_made_up_for_by_asking_the_api(self, fake, signing):
        replicate = provider(fake, webhook_url=WEBHOOK_URL, webhook_signing_secret=signing, webhook_recheck_s=0)
        prediction_id = replicate.submit(SPEC, key="job-1").provider_job_id
        fake.predictions[prediction_id]["status"] = "succeeded"  # its webhook never came
        assert replicate.poll(prediction_id).state == "succeeded"
        assert fake.requests[-1].path == f"/v1/predictions/{prediction_id}"

    @pytest.mark.parametrize(
        "forgery",
        [
            pytest.param(lambda fake, body: fake.signed_headers(body, secret="whsec_" + "QUJD" * 8), id="other-secret"),
            pytest.param(lambda fake, body: fake.signed_headers(body, timestamp=int(time.time()) - 360), id="old"),
            pytest.param(lambda fake, body: fake.signed_headers(body, timestamp=int(time.time()) + 360), id="future"),
            pytest.param(lambda fake, body: fake.signed_headers(body + b" "), id="other-body"),
            pytest.param(lambda fake, body: {}, id="unsigned"),
            pytest.param(lambda fake, body: fake.signed_headers(body) | {"webhook-id": "msg_other"}, id="other-id"),
        ],
    )
    def test_a_forged_or_replayed_webhook_is_refused(self, fake, signing, forgery):
        body = json.dumps({"id": "p1", "status": "succeeded", "output": "https://replicate.delivery/x.mp4"}).encode()
        response = self.post(body, forgery(fake, body))
        assert (response.status_code, response.json()["error"]["code"]) == (403, "invalid_webhook_signature")
        assert not ProviderPrediction.objects.exists()

    def test_one_valid_signature_among_several_is_enough_and_a_replay_changes_nothing(self, fake, signing):
        body = json.dumps({"id": "p1", "status": "failed", "error": "out of memory"}).encode()
        headers = fake.signed_headers(body)
        headers["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]
        assert self.post(body, headers).status_code == 204
        later = json.dumps({"id": "p1", "status": "processing"}).encode()
        assert self.post(later, fake.signed_headers(later)).status_code == 204
        assert ProviderPrediction.objects.get(prediction_id="p1").status == "failed"


class TestDownload:
    def test_the_api_token_never_reaches_the_download_host(self, fake, clip, tmp_path):
        replicate = provider(fake)
        prediction_id = replicate.submit(SPEC, key="job-1").provider_job_id
        fake.advance(prediction_id, "succeeded")
        result = replicate.fetch_result(prediction_id, tmp_path / "out.mp4")
        assert result.read_bytes() == Path(clip).read_bytes()
        [download] = fake.downloads
        assert "Authorization" not in download.headers and fake.token not in json.dumps(download.headers)
        assert fake.requests[-2].headers["Authorization"] == f"Bearer {fake.token}"  # the API call had it

    @pytest.mark.parametrize(
        ("url", "allowed"),
        [
            ("https://replicate.delivery/xezq/abc/output.mp4", True),
            ("https://pbxt.replicate.delivery/abc/output.mp4", True),
            ("http://replicate.delivery/abc/output.mp4", False),  # HTTPS only
            ("https://replicate.delivery.evil.example/output.mp4", False),
            ("https://evilreplicate.delivery/output.mp4", False),
            ("http://169.254.169.254/latest/meta-data/", False),
        ],
    )
    def test_outputs_come_only_from_replicates_delivery_hosts(self, fake, tmp_path, monkeypatch, url, allowed):
        fetched = []

        def download(client, url, destination, *, provider):
            fetched.append((client, url))
            return destination

        monkeypatch.setattr("media.providers.replicate.download", download)
        ProviderPrediction.objects.create(provider="replicate", prediction_id="p1", status="succeeded", output_url=url)
        replicate = provider(fake)
        if allowed:
            replicate.fetch_result("p1", tmp_path / "out.mp4")
            [(client, fetched_url)] = fetched
            assert fetched_url == url and "authorization" not in {name.lower() for name in client.headers}
        else:
            with pytest.raises(ProviderPermanentError) as refused:
                replicate.fetch_result("p1", tmp_path / "out.mp4")
            assert refused.value.code == "provider_untrusted_result_url" and fetched == []


class TestThroughTheWorker:
    """A whole job through media.services, Replicate's webhooks arriving while the worker waits."""

    @pytest.fixture
    def configured(self, fake, settings, sent):
        settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS, "replicate": {
            "api_token": fake.token, "base_url": fake.url, "model": MODEL, "webhook_url": WEBHOOK_URL,
            "webhook_signing_secret": fake.signing_secret}}  # fmt: skip
        settings.RENDER_POLL_INTERVAL_S = 0
        return fake

    def run(self, fake, monkeypatch, *statuses: str):
        job = RenderJobFactory(provider="replicate")
        events = iter(statuses)
        # ``time.sleep`` is the time module's, shared by every thread: patched only while the worker waits,
        # or post-processing's FFmpeg waits (on a thread of its own) would deliver webhooks too.
        with monkeypatch.context() as patched:
            patched.setattr("media.services.worker.time.sleep",
                            lambda seconds: fake.advance(created(fake), next(events, statuses[-1])))  # fmt: skip
            services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        return job

    def test_a_job_renders_through_replicate_and_its_file_is_stored(self, configured, monkeypatch):
        job = self.run(configured, monkeypatch, "processing", "succeeded")
        services.render_job_postprocess(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.provider_job_id, job.error_code) == ("succeeded", created(configured), "")
        assert private_files(job) == ["original.mp4"]
        assert len(configured.predictions) == 1
        [download] = configured.downloads
        assert "Authorization" not in download.headers

    def test_an_aborted_prediction_fails_the_job(self, configured, monkeypatch):
        job = self.run(configured, monkeypatch, "aborted")
        assert (job.status, job.error_code) == ("failed", "provider_aborted")
