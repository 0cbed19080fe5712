"""Local HTTP servers that replay the providers' documented request and response shapes.

Each records the requests it got, refuses what the real API refuses (``check``), and answers
the rest from a script the test sets:
``server.script["POST /v1beta/models/m:predictLongRunning"] = [(429, {...}), (200, {...})]``
answers the first call with 429 and every later one with the last entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_http import Answer, LocalHttpServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict | None


@dataclass
class FakeServer(LocalHttpServer):
    files: dict[str, Path] = field(default_factory=dict)
    script: dict[str, list] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def respond(self, method: str, path: str, headers, raw: bytes) -> Answer:
        bare = path.split("?", 1)[0]
        body = json.loads(raw) if raw else None
        self.requests.append(Recorded(method, path, dict(headers), body))
        refusal = self.check(method, bare, body)
        if method == "GET" and bare in self.files:
            return Answer(200, self.files[bare].read_bytes(), "video/mp4")
        steps = self.script.get(f"{method} {bare}")
        if refusal is not None:
            return Answer.json(*refusal)
        if steps:
            status, body, *rest = steps.pop(0) if len(steps) > 1 else steps[0]
            return Answer.json(status, body, rest[0] if rest else {})
        return Answer.json(404, {"error": {"code": 404, "message": "not found"}})

    def check(self, method: str, path: str, body: dict | None) -> tuple[int, dict] | None:
        """The error the real API answers this request with, or None to answer from the script."""
        return None


def google_error(code: int, status: str, message: str, *details: dict) -> dict:
    """An error body of Google's APIs: google.rpc.Status in JSON (https://google.aip.dev/193)."""
    error: dict = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


def veo_rate_limited(retry_delay: str = "37s") -> tuple[int, dict]:
    """The Gemini API's 429: RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail and no Retry-After
    header (https://ai.google.dev/gemini-api/docs/rate-limits; AIP-193's RetryInfo)."""
    return 429, google_error(
        429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.",
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaMetric": "generativelanguage.googleapis.com/predict_long_running_requests"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
    )  # fmt: skip


# What the Gemini API accepts for Veo, written down here apart from the adapter's own table so the
# two can disagree: "Generate videos with Veo", https://ai.google.dev/gemini-api/docs/video
# ("Veo API parameters and specifications", "Model versions"). Per model: does it take reference
# images, and at which aspect ratios does it render 1080p.
FAKE_VEO_MODELS = {
    "veo-3.1-generate-preview": (True, {"16:9", "9:16"}),
    "veo-3.1-fast-generate-preview": (True, {"16:9", "9:16"}),
    "veo-3.1-lite-generate-preview": (False, {"16:9", "9:16"}),
    "veo-3.0-generate-001": (False, {"16:9"}),
    "veo-3.0-fast-generate-001": (False, {"16:9"}),
}
# The fields of a GenerateVideos request to the Gemini API, as the Google Gen AI SDK sends them
# (googleapis/python-genai, models._GenerateVideosParameters_to_mldev and _GenerateVideosConfig_to_mldev:
# it refuses seed, fps, generateAudio and others as "only supported in ... not in Gemini Developer API").
VEO_INSTANCE_FIELDS = {"prompt", "image", "lastFrame", "video", "referenceImages"}
VEO_PARAMETER_FIELDS = {"sampleCount", "durationSeconds", "aspectRatio", "resolution", "personGeneration"}
VEO_PARAMETER_FIELDS |= {"negativePrompt", "enhancePrompt"}


@dataclass
class FakeVeo(FakeServer):
    """The Gemini API's predictLongRunning for Veo: refuses, as 400 INVALID_ARGUMENT, what the page
    above says the API refuses; an unknown model is a 404, as the API answers it."""

    adults_only_region: bool = False

    def submissions(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(":predictLongRunning")]

    def check(self, method: str, path: str, body: dict | None) -> tuple[int, dict] | None:
        if method != "POST" or not path.endswith(":predictLongRunning"):
            return None
        model = path.removeprefix("/v1beta/models/").removesuffix(":predictLongRunning")
        if model not in FAKE_VEO_MODELS:
            return 404, google_error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta.")
        problem = _veo_body_problem(model, body or {}, adults_only_region=self.adults_only_region)
        return None if problem is None else (400, google_error(400, "INVALID_ARGUMENT", problem))


def fake_veo_as_provider(settings, *, clip: Path, model: str) -> FakeVeo:
    """Start a FakeVeo serving ``clip`` and make it this process's render provider (pytest-django's
    ``settings``); the caller stops it."""
    fake = FakeVeo(files={"/files/result.mp4": clip}).start()
    settings.RENDER_PROVIDER = "veo"
    settings.RENDER_PROVIDER_OPTIONS = {
        **settings.RENDER_PROVIDER_OPTIONS,
        "veo": {"api_key": "test-key", "base_url": fake.url, "model": model},
    }
    return fake


def _veo_body_problem(model: str, body: dict, *, adults_only_region: bool) -> str | None:
    unknown = [f"{where}.{name}" for where, fields, allowed in (
        ("", body, {"instances", "parameters"}),
        ("instances[0]", (body.get("instances") or [{}])[0], VEO_INSTANCE_FIELDS),
        ("parameters", body.get("parameters") or {}, VEO_PARAMETER_FIELDS),
    ) for name in fields if name not in allowed]  # fmt: skip
    if unknown:
        return f"Invalid JSON payload received. Unknown name {unknown[0]!r}: Cannot find field."
    instances, parameters = body.get("instances") or [], body.get("parameters") or {}
    if len(instances) != 1 or not instances[0].get("prompt"):
        return "A prompt is required."
    references = instances[0].get("referenceImages") or []
    takes_references, full_hd_aspects = FAKE_VEO_MODELS[model]
    if references and not takes_references:
        return f"referenceImages isn't supported by this model ({model})."
    if len(references) > 3 or any(
        set(r) != {"image", "referenceType"} or r["referenceType"] != "asset"
        or set(r["image"]) != {"bytesBase64Encoded", "mimeType"} for r in references
    ):  # fmt: skip
        return "referenceImages: up to 3 asset images, each with bytesBase64Encoded and mimeType."
    aspect = parameters.get("aspectRatio", "16:9")
    resolution = parameters.get("resolution", "720p")
    duration = parameters.get("durationSeconds", 8)
    if aspect not in ("16:9", "9:16"):
        return f"Unsupported aspect ratio: {aspect}. Supported: 16:9, 9:16."
    if resolution not in ("720p", "1080p") or (resolution == "1080p" and aspect not in full_hd_aspects):
        return f"Unsupported resolution {resolution} for aspect ratio {aspect}."
    if type(duration) is not int or duration not in (4, 6, 8):
        return f"durationSeconds must be 4, 6 or 8; got {duration!r}."
    if (references or resolution == "1080p") and duration != 8:
        return "durationSeconds must be 8 with reference images and at 1080p or 4k."
    person = parameters.get("personGeneration")
    expected = "allow_adult" if references or instances[0].get("image") or adults_only_region else "allow_all"
    if person is not None and person != expected:
        return f"personGeneration {person!r} is not supported for this request; use {expected!r}."
    return None


def veo_operation(name: str, *, done: bool, uri: str | None = None, filtered: list[str] | None = None, error=None):
    """A google.longrunning.Operation as the Gemini API returns it for Veo."""
    operation: dict = {"name": name, "done": done}
    if error:
        operation["error"] = error
    elif done:
        response: dict = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"}
        if filtered:
            response["generateVideoResponse"] = {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": filtered}
        else:
            response["generateVideoResponse"] = {"generatedSamples": [{"video": {"uri": uri}}]}
        operation["response"] = response
    return operation
