"""The Cog adapter against tests/fake_cog.py, a Cog server as replicate/cog documents it (docs/http.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backend.core.http import ProviderPermanentError, ProviderTransientError
from media import services, tasks
from media.checks import render_provider_configured
from media.models import ProviderPrediction, RenderJob
from media.providers.base import RenderSpec
from media.providers.cog import (
    UPLOAD_PREFIX,
    CogProvider,
    upload_token,
    upload_url_for,
    webhook_prediction_id,
    webhook_token,
)
from media.services.predictions import cog_webhook_receive, provider_predictions_sweep
from tests.factories import RenderJobFactory
from tests.fake_cog import FakeCog, django_sender
from tests.media.conftest import private_files
from tests.media_files import make_clip, png_bytes

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "http://testserver/api/v1/webhooks/cog"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("cog") / "output.mp4", seconds=1)


@pytest.fixture
def fake(clip):
    server = FakeCog(output=clip, sender=django_sender(Client())).start()
    yield server
    server.stop()


@pytest.fixture
def cog(fake):
    return CogProvider(base_url=fake.url, webhook_url=WEBHOOK_URL)


def uploads() -> list[str]:
    store = storages["default"]
    if not store.exists(UPLOAD_PREFIX):
        return []
    return sorted(f"{UPLOAD_PREFIX}/{folder}/{name}" for folder in store.listdir(UPLOAD_PREFIX)[0]
                  for name in store.listdir(f"{UPLOAD_PREFIX}/{folder}")[1])  # fmt: skip


def uploads_by_location(locations: list[str]) -> list[str]:
    return [UPLOAD_PREFIX + "/" + location.rsplit("/outputs/", 1)[1] for location in locations]


def spec(tmp_path, **overrides) -> RenderSpec:
    reference = tmp_path / "ref.png"
    reference.write_bytes(png_bytes())
    fields = {"prompt": "a corgi surfing", "duration_s": 5, "aspect": "9:16", "width": 720, "height": 1280, "seed": 7,
              "reference_images": [reference], "directions": ["Pixel must never appear: drinking"]}  # fmt: skip
    return RenderSpec(**(fields | overrides))


def webhook(prediction_id: str, **payload):
    return Client().post(f"/api/v1/webhooks/cog/{prediction_id}?token={webhook_token(prediction_id)}",
                         {"id": prediction_id, **payload}, content_type="application/json")  # fmt: skip


class TestSubmit:
    def test_the_job_id_is_the_prediction_id_and_a_second_submit_starts_nothing(self, fake, cog, tmp_path):
        # When a job is submitted
        job = cog.submit(spec(tmp_path), key="job-1")
        # Then Cog got PUT /predictions/job-1, asynchronous, with a webhook for that prediction only
        assert (job.provider_job_id, job.state) == ("job-1", "queued")
        sent = fake.requests[-1]
        assert (sent.method, sent.path, sent.headers["Prefer"]) == ("PUT", "/predictions/job-1", "respond-async")
        assert sent.body["webhook_events_filter"] == ["start", "completed"]
        assert webhook_prediction_id(sent.body["webhook"].split("token=")[1]) == "job-1"
        assert sent.body["input"]["negative_prompt"] == "drinking"
        assert sent.body["input"]["image"].startswith("data:image/png;base64,")
        # And submitting it again (a retry after a lost answer) is the same prediction: Cog answers 202 with it
        fake.begin("job-1")
        assert cog.submit(spec(tmp_path), key="job-1").state == "running"
        assert fake.submissions == ["job-1"]

    def test_a_finished_prediction_is_not_put_again(self, fake, cog, tmp_path):
        # Cog forgets finished predictions: a PUT would render it a second time.
        cog.submit(spec(tmp_path), key="job-1")
        fake.finish("job-1")
        assert cog.submit(spec(tmp_path), key="job-1").state == "succeeded"
        assert fake.submissions == ["job-1"]

    def test_a_busy_cog_is_transient(self, fake, cog, tmp_path):
        # Given Cog's one slot is taken by another prediction
        cog.submit(spec(tmp_path), key="job-1")
        # Then a second job meets 409, which is worth retrying, not a refusal
        with pytest.raises(ProviderTransientError) as busy:
            cog.submit(spec(tmp_path), key="job-2")
        assert (busy.value.code, busy.value.status) == ("provider_busy", 409)
        # And once the slot is free it starts
        fake.finish("job-1")
        assert cog.submit(spec(tmp_path), key="job-2").state == "queued"

    def test_an_input_the_model_refuses_is_permanent(self, fake, cog, tmp_path, monkeypatch):
        monkeypatch.setattr("tests.fake_cog.REQUIRED_INPUTS", {"prompt", "fps"})
        with pytest.raises(ProviderPermanentError) as refused:
            cog.submit(spec(tmp_path), key="job-1")
        assert (refused.value.code, refused.value.status) == ("provider_invalid_request", 422)
        assert fake.submissions == []

    def test_without_a_webhook_url_cog_refuses_to_start(self, fake, tmp_path, settings):
        # Cog has no status endpoint: without a webhook a job could only wait for its time limit.
        cog = CogProvider(base_url=fake.url)
        with pytest.raises(ProviderPermanentError) as refused:
            cog.submit(spec(tmp_path), key="job-1")
        assert refused.value.code == "provider_not_configured"
        assert fake.requests == []
        settings.RENDER_PROVIDER = "cog"
        settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS, "cog": {"base_url": fake.url}}
        [error] = render_provider_configured()
        assert error.id == "media.E001" and "COG_WEBHOOK_URL" in error.msg


class TestWebhooks:
    def test_state_comes_from_webhooks_kept_in_postgresql(self, fake, cog, tmp_path):
        cog.submit(spec(tmp_path), key="job-1")
        assert cog.poll("job-1").state == "queued"  # no webhook yet
        fake.begin("job-1")
        assert cog.poll("job-1").state == "queued"  # Cog's start event says "starting"
        fake.finish("job-1", status="failed", error="CUDA out of memory")
        job = cog.poll("job-1")
        assert (job.state, job.error_code, job.error_message) == ("failed", "provider_failed", "CUDA out of memory")
        assert ProviderPrediction.objects.get(provider="cog", prediction_id="job-1").status == "failed"

    def test_a_late_or_replayed_event_never_undoes_a_final_state(self, cog):
        assert webhook("p1", status="processing").status_code == 204
        assert webhook("p1", status="canceled").status_code == 204
        assert webhook("p1", status="processing").status_code == 204
        assert webhook("p1", status="succeeded", output="data:video/mp4;base64,AAAA").status_code == 204
        assert cog.poll("p1").state == "cancelled"
        assert uploads() == []  # the decoded output of the ignored event was not kept

    def test_a_forged_token_or_another_predictions_token_is_refused(self):
        forged = Client().post("/api/v1/webhooks/cog/p1?token=forged", {"status": "succeeded"},
                               content_type="application/json")  # fmt: skip
        other = Client().post(f"/api/v1/webhooks/cog/p1?token={webhook_token('p2')}", {"status": "succeeded"},
                              content_type="application/json")  # fmt: skip
        assert (forged.status_code, other.status_code) == (404, 404)
        assert forged.json()["error"]["code"] == "not_found"
        assert not ProviderPrediction.objects.exists()

    def test_an_unknown_status_fails_the_job(self, cog):
        webhook("p1", status="exploded")
        job = cog.poll("p1")
        assert (job.state, job.error_code) == ("failed", "provider_unknown_status")

    def test_an_inline_output_too_large_for_a_webhook_fails_the_prediction_clearly(self, cog, settings):
        settings.COG_WEBHOOK_MAX_BYTES = 1000
        response = webhook("p1", status="succeeded", output="data:video/mp4;base64," + "A" * 2000)
        assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
        job = cog.poll("p1")
        assert job.state == "failed" and "--upload-url" in job.error_message


class TestOutputs:
    def test_with_upload_url_the_output_lands_in_our_storage(self, fake, cog, tmp_path, clip):
        # Given Cog started with the --upload-url this service prints
        call_command("cog_upload_url", "http://testserver")  # what an operator runs
        fake.upload_url = upload_url_for("http://testserver")
        cog.submit(spec(tmp_path), key="job-1")
        # When the prediction finishes, Cog PUTs the file to us, then sends a webhook naming it
        fake.finish("job-1")
        [stored] = uploads()
        prediction = ProviderPrediction.objects.get(prediction_id="job-1")
        assert prediction.output_file == stored and prediction.output_url == ""
        # Then the result is read from our storage, not downloaded
        assert cog.poll("job-1").state == "succeeded"
        result = cog.fetch_result("job-1", tmp_path / "out.mp4")
        assert result.read_bytes() == Path(clip).read_bytes()

    def test_a_data_uri_output_is_decoded_into_storage_when_the_webhook_arrives(self, fake, cog, tmp_path, clip):
        cog.submit(spec(tmp_path), key="job-1")
        fake.finish("job-1")  # no --upload-url: the video comes inline
        prediction = ProviderPrediction.objects.get(prediction_id="job-1")
        assert prediction.output_file.startswith(UPLOAD_PREFIX) and prediction.output_file.endswith(".mp4")
        assert cog.fetch_result("job-1", tmp_path / "out.mp4").read_bytes() == Path(clip).read_bytes()

    def upload(self, token: str, body: bytes = b"video bytes"):
        return Client().generic("PUT", f"/api/v1/uploads/cog/{token}/output.mp4", data=body, content_type="video/mp4")

    def test_an_upload_with_a_wrong_token_is_refused_and_leaves_no_file(self):
        token = upload_token()
        assert upload_url_for("http://x") == f"http://x/api/v1/uploads/cog/{token}/"
        for wrong in ["forged", webhook_token("job-1"), token[:-1] + "0"]:
            response = self.upload(wrong)
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
        assert uploads() == []
        response = self.upload(token)
        assert response.status_code == 201
        assert response["Location"].startswith("http://testserver/api/v1/uploads/cog/outputs/")
        assert len(uploads()) == 1

    def test_an_upload_bigger_than_what_requests_may_hold_in_memory_streams_into_storage(self, settings):
        body = b"v" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024)
        location = self.upload(upload_token(), body)["Location"]
        [stored] = uploads_by_location([location])
        with storages["default"].open(stored, "rb") as handle:
            assert handle.read() == body

    def test_an_upload_over_the_size_cap_is_refused_and_leaves_no_file(self, settings):
        settings.COG_UPLOAD_MAX_BYTES = 10
        token = upload_token()
        response = self.upload(token, b"x" * 11)
        assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
        assert uploads() == []

    def test_an_upload_belongs_to_the_first_prediction_that_names_it(self, cog, tmp_path):
        token = upload_token()
        location = self.upload(token)["Location"]
        webhook("p1", status="succeeded", output=location)
        webhook("p2", status="succeeded", output=[location])
        assert cog.fetch_result("p1", tmp_path / "out.mp4").read_bytes() == b"video bytes"
        job = cog.poll("p2")
        assert (job.state, job.error_message) == ("failed", "The output named belongs to another prediction.")

    def test_old_predictions_and_unclaimed_uploads_are_swept(self, monkeypatch):
        token = upload_token()
        old, fresh, unclaimed, recent = (self.upload(token)["Location"] for _ in range(4))
        webhook("p-old", status="succeeded", output=old)
        webhook("p-fresh", status="succeeded", output=fresh)
        ProviderPrediction.objects.filter(prediction_id="p-old").update(updated_at=timezone.now() - timedelta(days=3))
        names = uploads_by_location([old, fresh, unclaimed, recent])
        files = dict(zip(["old", "fresh", "unclaimed", "recent"], names, strict=True))
        store = storages["default"]
        ages = {files["unclaimed"]: timedelta(days=3)}
        monkeypatch.setattr(store, "get_modified_time", lambda name: timezone.now() - ages.get(name, timedelta(0)))
        assert provider_predictions_sweep(older_than=timedelta(days=2)) == 2
        assert uploads() == sorted([files["fresh"], files["recent"]])
        assert list(ProviderPrediction.objects.values_list("prediction_id", flat=True)) == ["p-fresh"]

    def test_the_sweep_task_run_twice_removes_once(self):
        webhook("p-old", status="succeeded", output=self.upload(upload_token())["Location"])
        ProviderPrediction.objects.update(updated_at=timezone.now() - timedelta(days=3))
        assert (tasks.provider_predictions_sweep(), tasks.provider_predictions_sweep()) == (1, 0)
        assert uploads() == [] and not ProviderPrediction.objects.exists()

    def test_an_output_url_elsewhere_is_refused(self, cog, tmp_path):
        cog_webhook_receive(prediction_id="p1", payload={"status": "succeeded", "output": "http://169.254.169.254/x"})
        with pytest.raises(ProviderPermanentError) as refused:
            cog.fetch_result("p1", tmp_path / "out.mp4")
        assert refused.value.code == "provider_untrusted_result_url"


def test_cancel(fake, cog, tmp_path):
    cog.submit(spec(tmp_path), key="job-1")
    cog.cancel("job-1")
    assert (fake.requests[-1].method, fake.requests[-1].path) == ("POST", "/predictions/job-1/cancel")


class TestThroughTheWorker:
    """A whole job through media.services, Cog's events arriving while the worker waits."""

    @pytest.fixture
    def configured(self, fake, settings, sent):
        fake.upload_url = upload_url_for("http://testserver")
        settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS,
                                            "cog": {"base_url": fake.url, "webhook_url": WEBHOOK_URL}}  # fmt: skip
        settings.RENDER_POLL_INTERVAL_S = 0
        return fake

    def test_a_job_renders_through_cog_and_its_file_is_stored(self, configured, monkeypatch):
        job = RenderJobFactory(provider="cog")
        events = iter([lambda: configured.begin(str(job.id)), lambda: configured.finish(str(job.id))])
        with monkeypatch.context() as patched:  # the time module's sleep, every thread's: only while the worker waits
            patched.setattr("media.services.worker.time.sleep", lambda seconds: next(events, lambda: None)())
            services.render_job_execute(job_id=str(job.id))
        services.render_job_postprocess(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.provider_job_id, job.error_code) == ("succeeded", str(job.id), "")
        assert private_files(job) == ["original.mp4"]
        assert job.result_video is not None and job.result_video.mp4
        assert configured.submissions == [str(job.id)]

    def test_a_busy_cog_puts_the_job_back_to_retry(self, configured, clip):
        configured.running["someone-else"] = {"id": "someone-else", "status": "processing"}
        job = RenderJobFactory(provider="cog")
        with pytest.raises(ProviderTransientError):
            services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.stage, job.error_code) == ("queued", "waiting_to_retry", "provider_busy")

    def test_without_a_webhook_url_the_job_fails_at_once_saying_why(self, fake, settings, sent):
        settings.RENDER_PROVIDER_OPTIONS = {**settings.RENDER_PROVIDER_OPTIONS, "cog": {"base_url": fake.url}}
        job = RenderJobFactory(provider="cog")
        services.render_job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error_code) == (RenderJob.Status.FAILED, "provider_not_configured")
        assert fake.requests == []
