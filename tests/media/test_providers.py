"""Hosted-provider adapters against local fakes of their documented HTTP APIs."""

import os
import uuid
from pathlib import Path

import av
import pytest

from backend.core.http import ProviderPermanentError, ProviderTransientError
from media.providers.base import RenderSpec
from media.providers.cog import CogProvider, webhook_prediction_id
from media.providers.preview import PreviewProvider
from media.providers.veo import VeoProvider
from tests.fake_providers import FakeServer, veo_operation
from tests.media_files import make_clip

MODEL = "veo-3.1-generate-preview"
SUBMIT = f"POST /v1beta/models/{MODEL}:predictLongRunning"
OPERATION = f"models/{MODEL}/operations/op-1"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("provider") / "result.mp4", seconds=2)


@pytest.fixture
def server(clip):
    fake = FakeServer(files={"/files/result.mp4": clip}).start()
    yield fake
    fake.stop()


def spec(tmp_path, **overrides):
    reference = tmp_path / "ref.png"
    from tests.media_files import png_bytes

    reference.write_bytes(png_bytes())
    fields = {
        "prompt": "a corgi surfing",
        "duration_s": 5,
        "aspect": "9:16",
        "width": 720,
        "height": 1280,
        "reference_images": [reference],
        "directions": ["Pixel: wears a red scarf", "Pixel must never appear: drinking"],
        "seed": 7,
    }
    return RenderSpec(**(fields | overrides))


class TestVeo:
    def provider(self, server):
        return VeoProvider(api_key="secret-key", base_url=server.url, model=MODEL)

    def test_submit_poll_and_download(self, server, tmp_path):
        server.script[SUBMIT] = [(200, {"name": OPERATION})]
        server.script[f"GET /v1beta/{OPERATION}"] = [
            (200, veo_operation(OPERATION, done=False)),
            (200, veo_operation(OPERATION, done=True, uri=f"{server.url}/files/result.mp4")),
        ]
        veo = self.provider(server)
        job = veo.submit(spec(tmp_path), key="job-1")
        assert (job.provider_job_id, job.state) == (OPERATION, "running")
        sent = server.requests[0]
        assert sent.headers["x-goog-api-key"] == "secret-key"
        assert sent.body["parameters"] == {
            "aspectRatio": "9:16", "durationSeconds": 6, "resolution": "720p", "negativePrompt": "drinking", "seed": 7,
        }  # fmt: skip
        instance = sent.body["instances"][0]
        assert "never appear: drinking" in instance["prompt"] and "red scarf" in instance["prompt"]
        assert instance["referenceImages"][0]["image"]["mimeType"] == "image/png"
        assert veo.poll(OPERATION).state == "running"
        assert veo.poll(OPERATION).state == "succeeded"
        result = veo.fetch_result(OPERATION, tmp_path / "out.mp4")
        with av.open(str(result)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
        assert server.requests[-1].headers["x-goog-api-key"] == "secret-key"

    def test_safety_refusal_is_a_failed_job_with_its_reason(self, server, tmp_path):
        server.script[f"GET /v1beta/{OPERATION}"] = [
            (200, veo_operation(OPERATION, done=True, filtered=["Prompt names a real person."]))
        ]
        job = self.provider(server).poll(OPERATION)
        assert (job.state, job.error_code) == ("failed", "provider_safety_refusal")
        assert "real person" in job.error_message

    def test_rate_limit_is_transient_with_retry_after(self, server, tmp_path):
        server.script[SUBMIT] = [(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "7"})]
        with pytest.raises(ProviderTransientError) as excinfo:
            self.provider(server).submit(spec(tmp_path), key="job-1")
        assert (excinfo.value.code, excinfo.value.retry_after) == ("provider_rate_limited", 7.0)

    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (500, ProviderTransientError),
            (503, ProviderTransientError),
            (400, ProviderPermanentError),
            (403, ProviderPermanentError),
        ],
    )
    def test_errors_map_to_transient_or_permanent(self, server, tmp_path, status, error):
        server.script[SUBMIT] = [(status, {"error": {"code": status, "message": "nope"}})]
        with pytest.raises(error):
            self.provider(server).submit(spec(tmp_path), key="job-1")

    def test_an_unreachable_server_is_transient(self, tmp_path):
        with pytest.raises(ProviderTransientError):
            VeoProvider(api_key="k", base_url="http://127.0.0.1:9", model=MODEL).submit(spec(tmp_path), key="job-1")


@pytest.mark.django_db
class TestCog:
    def provider(self, server, **options):
        return CogProvider(base_url=server.url, webhook_url="http://testserver/api/v1/webhooks/cog", **options)

    def test_async_prediction_with_webhooks(self, server, tmp_path, api_client):
        cog = self.provider(server)
        fixed = uuid.uuid4()  # we choose prediction ids; pin the next one
        server.script[f"PUT /predictions/{fixed.hex}"] = [(202, {"id": fixed.hex, "status": "starting"})]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("media.providers.cog.uuid.uuid4", lambda: fixed)
            job = cog.submit(spec(tmp_path))
        assert (job.provider_job_id, job.state) == (fixed.hex, "queued")
        sent = server.requests[-1]
        assert sent.headers["Prefer"] == "respond-async"
        assert sent.body["input"]["negative_prompt"] == "drinking"
        assert sent.body["input"]["image"].startswith("data:image/png;base64,")
        assert sent.body["webhook_events_filter"] == ["start", "output", "completed"]
        webhook = sent.body["webhook"].removeprefix("http://testserver")
        assert webhook_prediction_id(webhook.split("token=")[1]) == fixed.hex

        assert api_client.post(webhook, {"id": fixed.hex, "status": "processing"}, format="json").status_code == 204
        assert cog.poll(fixed.hex).state == "running"
        done = {"id": fixed.hex, "status": "succeeded", "output": f"{server.url}/files/result.mp4"}
        assert api_client.post(webhook, done, format="json").status_code == 204
        # A late, older event does not undo the final state; a replay changes nothing.
        api_client.post(webhook, {"id": fixed.hex, "status": "processing"}, format="json")
        api_client.post(webhook, done, format="json")
        assert cog.poll(fixed.hex).state == "succeeded"
        result = cog.fetch_result(fixed.hex, tmp_path / "out.mp4")
        assert result.stat().st_size > 1000

    def test_a_forged_webhook_is_refused(self, api_client):
        response = api_client.post("/api/v1/webhooks/cog/abc?token=forged", {"status": "succeeded"}, format="json")
        assert response.status_code == 404

    def test_failed_prediction_and_cancel(self, server, tmp_path):
        server.script["GET /predictions/p1"] = [(200, {"id": "p1", "status": "failed", "error": "CUDA out of memory"})]
        server.script["POST /predictions/p1/cancel"] = [(200, {"id": "p1", "status": "canceled"})]
        cog = self.provider(server, poll_api=True)
        job = cog.poll("p1")
        assert (job.state, job.error_message) == ("failed", "CUDA out of memory")
        cog.cancel("p1")
        assert server.requests[-1].method == "POST" and server.requests[-1].path == "/predictions/p1/cancel"

    def test_data_uri_output(self, server, tmp_path, clip):
        import base64

        uri = "data:video/mp4;base64," + base64.b64encode(Path(clip).read_bytes()).decode()
        server.script["GET /predictions/p2"] = [(200, {"id": "p2", "status": "succeeded", "output": [uri]})]
        result = self.provider(server, poll_api=True).fetch_result("p2", tmp_path / "out.mp4")
        assert result.read_bytes() == Path(clip).read_bytes()


class TestPreview:
    def test_a_render_leaves_only_its_output_and_sweeps_what_killed_workers_left(self, tmp_path):
        provider = PreviewProvider(output_dir=tmp_path)
        orphans = [provider.output_dir / "preview-dead.mp4", provider.output_dir / "preview-dead.caption.png"]
        provider.output_dir.mkdir(parents=True)
        for orphan in orphans:
            orphan.write_bytes(b"x")
            os.utime(orphan, (0, 0))
        recent = provider.output_dir / "preview-fetching-now.mp4"
        recent.write_bytes(b"x")
        job = provider.submit(
            RenderSpec(prompt="a corgi surfing", duration_s=1, aspect="9:16", width=144, height=256), key="job-1"
        )
        assert job.state == "succeeded"
        assert sorted(provider.output_dir.iterdir()) == sorted(
            [recent, provider.output_dir / f"{job.provider_job_id}.mp4"]
        )
