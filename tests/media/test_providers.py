"""Hosted-provider adapters against local fakes of their documented HTTP APIs."""

import os
from pathlib import Path

import av
import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from backend.core.http import ProviderPermanentError, ProviderTransientError
from media.providers.base import RenderSpec, SpecRefused
from media.providers.preview import PreviewProvider
from media.providers.veo import VEO_MODELS, VeoProvider
from tests.fake_providers import FakeServer, FakeVeo, google_error, veo_operation, veo_rate_limited
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


@pytest.fixture
def veo_server(clip):
    fake = FakeVeo(files={"/files/result.mp4": clip}).start()
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
    def provider(self, server, model=MODEL, **options):
        return VeoProvider(api_key="secret-key", base_url=server.url, model=model, **options)

    def submitted(self, server, tmp_path, model=MODEL, options=None, **overrides) -> dict:
        """The body Veo got for a spec, after the fake (the documented API) accepted it."""
        server.script[f"POST /v1beta/models/{model}:predictLongRunning"] = [(200, {"name": OPERATION})]
        veo = self.provider(server, model, **(options or {}))
        veo.validate(spec(tmp_path, **overrides))
        veo.submit(spec(tmp_path, **overrides), key="job-1")
        return server.submissions()[-1].body

    def test_submit_poll_and_download(self, veo_server, tmp_path):
        veo_server.script[SUBMIT] = [(200, {"name": OPERATION})]
        veo_server.script[f"GET /v1beta/{OPERATION}"] = [
            (200, veo_operation(OPERATION, done=False)),
            (200, veo_operation(OPERATION, done=True, uri=f"{veo_server.url}/files/result.mp4")),
        ]
        veo = self.provider(veo_server)
        job = veo.submit(spec(tmp_path), key="job-1")
        assert (job.provider_job_id, job.state) == (OPERATION, "running")
        sent = veo_server.requests[0]
        assert sent.headers["x-goog-api-key"] == "secret-key"
        # Reference images: 8 seconds and adults only, whatever length was asked; no seed (the Gemini API has none).
        assert sent.body["parameters"] == {
            "aspectRatio": "9:16", "durationSeconds": 8, "resolution": "720p", "personGeneration": "allow_adult",
            "negativePrompt": "drinking",
        }  # fmt: skip
        instance = sent.body["instances"][0]
        assert "never appear: drinking" in instance["prompt"] and "red scarf" in instance["prompt"]
        assert instance["referenceImages"][0]["image"]["mimeType"] == "image/png"
        assert instance["referenceImages"][0]["referenceType"] == "asset"
        assert veo.poll(OPERATION).state == "running"
        assert veo.poll(OPERATION).state == "succeeded"
        result = veo.fetch_result(OPERATION, tmp_path / "out.mp4")
        with av.open(str(result)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
        assert veo_server.requests[-1].headers["x-goog-api-key"] == "secret-key"

    @pytest.mark.parametrize(
        ("overrides", "options", "parameters"),
        [
            # Text to video: the shortest length that covers the request, people of all ages.
            ({"duration_s": 5}, {}, {"durationSeconds": 6, "resolution": "720p", "personGeneration": "allow_all"}),
            ({"duration_s": 3, "width": 480, "height": 852}, {},
             {"durationSeconds": 4, "resolution": "720p", "personGeneration": "allow_all"}),
            # 1080p comes only as 8 seconds.
            ({"duration_s": 3, "width": 1080, "height": 1920}, {},
             {"durationSeconds": 8, "resolution": "1080p", "personGeneration": "allow_all"}),
            # Where only adults may be generated, every request says so.
            ({"duration_s": 4}, {"adults_only_region": True},
             {"durationSeconds": 4, "resolution": "720p", "personGeneration": "allow_adult"}),
        ],
    )  # fmt: skip
    def test_text_to_video_bodies_follow_the_documented_rules(self, veo_server, tmp_path, overrides, options,
                                                              parameters):  # fmt: skip
        veo_server.adults_only_region = options.get("adults_only_region", False)  # the API knows where we are
        body = self.submitted(veo_server, tmp_path, options=options, reference_images=[], directions=[], **overrides)
        assert body["parameters"] == {"aspectRatio": "9:16", **parameters}
        assert "referenceImages" not in body["instances"][0]

    @pytest.mark.parametrize("model", sorted(VEO_MODELS))
    @pytest.mark.parametrize("aspect", ["9:16", "16:9"])
    @pytest.mark.parametrize("short_side", [480, 720, 1080])
    @pytest.mark.parametrize("references", [0, 1, 3])
    def test_every_spec_the_adapter_accepts_the_documented_api_accepts(self, veo_server, tmp_path, model, aspect,
                                                                       short_side, references):  # fmt: skip
        long_side = short_side * 16 // 9
        width, height = (short_side, long_side) if aspect == "9:16" else (long_side, short_side)
        refs = [tmp_path / f"ref-{n}.png" for n in range(references)]
        for ref in refs:
            ref.write_bytes(b"\x89PNG")
        try:
            body = self.submitted(veo_server, tmp_path, model, aspect=aspect, width=width, height=height,
                                  reference_images=refs, duration_s=3)  # fmt: skip
        except SpecRefused:
            return  # refused before anything is sent (the next test pins which)
        assert body["parameters"]["aspectRatio"] == aspect

    @pytest.mark.parametrize(
        ("model", "overrides", "code", "details"),
        [
            (MODEL, {"duration_s": 10}, "duration_not_supported", {"max_duration_s": 8}),
            (MODEL, {"aspect": "1:1", "width": 720, "height": 720}, "aspect_not_supported",
             {"aspects": ["16:9", "9:16"]}),
            ("veo-3.1-lite-generate-preview", {}, "reference_images_not_supported", {}),
            ("veo-3.0-generate-001", {}, "reference_images_not_supported", {}),
            ("veo-3.0-generate-001", {"reference_images": [], "width": 1080, "height": 1920},
             "resolution_not_supported", {"resolutions": ["720p"]}),
            (MODEL, {"reference_images": [Path("a.png")] * 4}, "too_many_reference_images",
             {"max_reference_images": 3}),
        ],
    )  # fmt: skip
    def test_validate_refuses_what_the_model_would_reject(self, veo_server, tmp_path, model, overrides, code, details):
        with pytest.raises(SpecRefused) as refused:
            self.provider(veo_server, model).validate(spec(tmp_path, **overrides))
        assert (refused.value.code, refused.value.details) == (code, details)

    def test_a_model_the_adapter_does_not_know_is_a_configuration_error(self):
        with pytest.raises(ImproperlyConfigured, match=r"veo-2\.0-generate-001"):
            VeoProvider(api_key="k", model="veo-2.0-generate-001")

    @pytest.mark.parametrize(
        ("model", "change", "message"),
        [
            (MODEL, {"durationSeconds": 6}, "must be 8 with reference images"),
            ("veo-3.1-lite-generate-preview", {}, "referenceImages isn't supported"),
            (MODEL, {"seed": 7}, "Unknown name 'parameters.seed'"),
            (MODEL, {"personGeneration": "allow_all"}, "use 'allow_adult'"),
        ],
    )
    def test_the_fake_refuses_what_the_documented_api_refuses(self, veo_server, model, change, message):
        image = {"bytesBase64Encoded": "iVBORw0K", "mimeType": "image/png"}
        body = {
            "instances": [{"prompt": "a corgi", "referenceImages": [{"image": image, "referenceType": "asset"}]}],
            "parameters": {"aspectRatio": "9:16", "durationSeconds": 8, "personGeneration": "allow_adult"} | change,
        }
        response = httpx.post(f"{veo_server.url}/v1beta/models/{model}:predictLongRunning", json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT") and message in error["message"]

    def test_safety_refusal_is_a_failed_job_with_its_reason(self, server, tmp_path):
        server.script[f"GET /v1beta/{OPERATION}"] = [
            (200, veo_operation(OPERATION, done=True, filtered=["Prompt names a real person."]))
        ]
        job = self.provider(server).poll(OPERATION)
        assert (job.state, job.error_code) == ("failed", "provider_safety_refusal")
        assert "real person" in job.error_message

    def test_a_rate_limit_waits_as_long_as_retry_info_says(self, veo_server, tmp_path):
        veo_server.script[SUBMIT] = [veo_rate_limited("37s")]
        with pytest.raises(ProviderTransientError) as excinfo:
            self.provider(veo_server).submit(spec(tmp_path), key="job-1")
        error = excinfo.value
        assert (error.code, error.status, error.retry_after) == ("provider_rate_limited", 429, 37.0)

    @pytest.mark.parametrize(
        ("headers", "retry_delay", "expected"),
        [({"Retry-After": "7"}, None, 7.0), ({"Retry-After": "7"}, "37s", 7.0), ({}, "1.5s", 1.5), ({}, None, None)],
    )
    def test_a_retry_after_header_counts_too(self, server, tmp_path, headers, retry_delay, expected):
        retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        details = [retry_info] if retry_delay else []
        server.script[SUBMIT] = [(429, google_error(429, "RESOURCE_EXHAUSTED", "slow down", *details), headers)]
        with pytest.raises(ProviderTransientError) as excinfo:
            self.provider(server).submit(spec(tmp_path), key="job-1")
        assert excinfo.value.retry_after == expected

    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (500, ProviderTransientError),
            (503, ProviderTransientError),
            (400, ProviderPermanentError),
            (403, ProviderPermanentError),
            (404, ProviderPermanentError),
        ],
    )
    def test_errors_map_to_transient_or_permanent_with_their_status(self, server, tmp_path, status, error):
        server.script[SUBMIT] = [(status, {"error": {"code": status, "message": "nope"}})]
        with pytest.raises(error) as excinfo:
            self.provider(server).submit(spec(tmp_path), key="job-1")
        assert excinfo.value.status == status

    def test_an_unreachable_server_is_transient(self, tmp_path):
        with pytest.raises(ProviderTransientError) as excinfo:
            VeoProvider(api_key="k", base_url="http://127.0.0.1:9", model=MODEL).submit(spec(tmp_path), key="job-1")
        assert excinfo.value.status is None


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

    def test_a_result_can_be_fetched_again_by_the_attempt_that_takes_over(self, tmp_path):
        """The reaper gave the job to a new attempt after the first fetched its result (the database was
        away): the new attempt resumes the provider job and must find the result still there."""
        provider = PreviewProvider(output_dir=tmp_path / "provider")
        job = provider.submit(
            RenderSpec(prompt="a corgi surfing", duration_s=1, aspect="9:16", width=144, height=256), key="job-2"
        )
        first = provider.fetch_result(job.provider_job_id, tmp_path / "first.mp4")
        assert provider.poll(job.provider_job_id).state == "succeeded"
        second = provider.fetch_result(job.provider_job_id, tmp_path / "second.mp4")
        assert second.read_bytes() == first.read_bytes() and len(first.read_bytes()) > 1000
