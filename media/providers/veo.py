"""Google Veo through the Gemini API (long-running predictions).

Follows "Generate videos with Veo" (https://ai.google.dev/gemini-api/docs/video: its REST examples,
"Veo API parameters and specifications" and "Model versions") and the request the Google Gen AI SDK
builds for the Gemini API (googleapis/python-genai, ``models._GenerateVideosConfig_to_mldev``):
``POST /v1beta/models/{model}:predictLongRunning`` with ``instances[0].prompt`` (and
``referenceImages``) and ``parameters`` (aspectRatio, durationSeconds as a number, resolution,
personGeneration, negativePrompt; the SDK refuses ``seed`` for the Gemini API, so it is not sent);
the answer names a long-running operation, polled at ``GET /v1beta/{name}`` until ``done``; the
result is ``response.generateVideoResponse.generatedSamples[0].video.uri``, downloaded with the API
key. Videos filtered by Google's safety system come back with ``raiMediaFilteredCount`` and
reasons instead of samples.

Cameo owners' directions go into the prompt ("must never appear: ...") and the negative prompt.
The API documents no cancel for these operations: ``cancel`` only stops our polling (the worker
does), which is all we can do.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from backend.core.http import TIMEOUT, ProviderPermanentError, download, request, require_provider_host
from backend.core.i18n import Translatable
from media.providers.base import ProviderJob, RenderSpec, SpecRefused


@dataclass(frozen=True)
class VeoModel:
    resolutions: dict[str, tuple[str, ...]]  # by aspect ratio: the aspects it renders, and at what sizes
    reference_images: bool = False
    durations: tuple[int, ...] = (4, 6, 8)


_ALL_ASPECTS = {"16:9": ("720p", "1080p"), "9:16": ("720p", "1080p")}

# What each model the Gemini API serves accepts, after "Veo API parameters and specifications" and
# "Model versions" on https://ai.google.dev/gemini-api/docs/video. Written in November 2026 from the
# copies of that page and of Vertex AI's Veo 3.1 model page that could be read, and the Google Gen AI
# SDK (its tests call veo-3.1-generate-preview and veo-3.1-lite-generate-preview); where those
# disagreed, the newest statement is followed, or the stricter one when their dates were unclear (Veo 3's
# portrait 1080p). Check it against the page when Google changes its models.
# For all of them:
# - durationSeconds is 4, 6 or 8, and must be 8 with reference images and at 1080p or 4k;
# - aspectRatio is "16:9" or "9:16" (reference images take both since Veo 3.1's January 2026 update);
# - personGeneration is "allow_all" for text-to-video and "allow_adult" with images (reference
#   images included); in the EU, the UK, Switzerland and MENA only "allow_adult" is allowed;
# - up to three reference images ("asset"), on Veo 3.1 and Veo 3.1 Fast only (not Lite, not Veo 3).
# We render at most 1080p (RenderJob.Resolution), so 4k never comes up.
VEO_MODELS = {
    "veo-3.1-generate-preview": VeoModel(resolutions=_ALL_ASPECTS, reference_images=True),
    "veo-3.1-fast-generate-preview": VeoModel(resolutions=_ALL_ASPECTS, reference_images=True),
    "veo-3.1-lite-generate-preview": VeoModel(resolutions=_ALL_ASPECTS),
    # Veo 3 renders 1080p in landscape only.
    "veo-3.0-generate-001": VeoModel(resolutions={"16:9": ("720p", "1080p"), "9:16": ("720p",)}),
    "veo-3.0-fast-generate-001": VeoModel(resolutions={"16:9": ("720p", "1080p"), "9:16": ("720p",)}),
}
MAX_REFERENCE_IMAGES = 3
# Resolutions (and reference images) that only come as 8-second videos.
EIGHT_SECONDS_ONLY = ("1080p", "4k")


class VeoProvider:
    name = "veo"

    def __init__(self, *, api_key: str, base_url: str = "https://generativelanguage.googleapis.com",
                 model: str = "veo-3.1-generate-preview", adults_only_region: bool = False,
                 client: httpx.Client | None = None):  # fmt: skip
        if model not in VEO_MODELS:
            raise ImproperlyConfigured(f"VEO_MODEL {model!r} is not one of {', '.join(VEO_MODELS)}.")
        self.model = model
        self.spec_limits = VEO_MODELS[model]
        # Projects billed in the EU, UK, CH or MENA may only ask for adults (the personGeneration note).
        self.adults_only_region = adults_only_region
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"x-goog-api-key": api_key})

    def _resolution(self, spec: RenderSpec) -> str:
        # Veo renders no 480p: a 480p render is made at 720p and scaled down by post-processing.
        return "1080p" if min(spec.width, spec.height) >= 1080 else "720p"

    def validate(self, spec: RenderSpec) -> None:
        limits = self.spec_limits
        if spec.duration_s > max(limits.durations):
            raise SpecRefused(
                Translatable(
                    "This video model makes videos of at most %(seconds)d seconds.", seconds=max(limits.durations)
                ),
                code="duration_not_supported",
                details={"max_duration_s": max(limits.durations)},
            )
        if spec.aspect not in limits.resolutions:
            raise SpecRefused(
                Translatable(
                    "This video model renders only these aspects: %(aspects)s.", aspects=", ".join(limits.resolutions)
                ),
                code="aspect_not_supported",
                details={"aspects": list(limits.resolutions)},
            )
        resolution = self._resolution(spec)
        if resolution not in limits.resolutions[spec.aspect]:
            raise SpecRefused(
                Translatable(
                    "This video model renders %(aspect)s videos at %(resolutions)s.",
                    aspect=spec.aspect,
                    resolutions=", ".join(limits.resolutions[spec.aspect]),
                ),
                code="resolution_not_supported",
                details={"resolutions": list(limits.resolutions[spec.aspect])},
            )
        if spec.reference_images and not limits.reference_images:
            raise SpecRefused(
                _("This video model takes no reference images: render without cameos or a reference image."),
                code="reference_images_not_supported",
            )
        if len(spec.reference_images) > MAX_REFERENCE_IMAGES:
            raise SpecRefused(
                Translatable(
                    "This video model takes at most %(count)d reference images (cameos and an upload).",
                    count=MAX_REFERENCE_IMAGES,
                ),
                code="too_many_reference_images",
                details={"max_reference_images": MAX_REFERENCE_IMAGES},
            )

    def _body(self, spec: RenderSpec) -> dict:
        prompt = spec.prompt
        if spec.directions:
            prompt += "\n\nRequirements for the people in this video:\n" + "\n".join(f"- {d}" for d in spec.directions)
        instance: dict = {"prompt": prompt}
        if spec.reference_images:
            instance["referenceImages"] = [
                {
                    "image": {
                        "bytesBase64Encoded": base64.b64encode(path.read_bytes()).decode(),
                        "mimeType": mimetypes.guess_type(path.name)[0] or "image/jpeg",
                    },
                    "referenceType": "asset",
                }
                for path in spec.reference_images
            ]
        resolution = self._resolution(spec)
        if spec.reference_images or resolution in EIGHT_SECONDS_ONLY:
            duration = 8
        else:  # the shortest that covers the request (validate refused longer ones)
            duration = next(d for d in self.spec_limits.durations if d >= spec.duration_s)
        adults_only = bool(spec.reference_images) or self.adults_only_region
        parameters = {
            "aspectRatio": spec.aspect,
            "durationSeconds": duration,
            "resolution": resolution,
            "personGeneration": "allow_adult" if adults_only else "allow_all",
        }
        restrictions = [
            d.split("must never appear:", 1)[1].strip() for d in spec.directions if "must never appear:" in d
        ]
        if restrictions:
            parameters["negativePrompt"] = ", ".join(restrictions)
        return {"instances": [instance], "parameters": parameters}

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
        """``key`` is unused: the Gemini API names the operation, and the worker stores that name."""
        url = f"{self.base_url}/v1beta/models/{self.model}:predictLongRunning"
        operation = request(self.client, "POST", url, provider=self.name, json=self._body(spec)).json()
        return ProviderJob(provider_job_id=operation["name"], state="running", progress=0)

    def _operation(self, name: str) -> dict:
        return request(self.client, "GET", f"{self.base_url}/v1beta/{name}", provider=self.name).json()

    def poll(self, provider_job_id: str) -> ProviderJob:
        operation = self._operation(provider_job_id)
        if not operation.get("done"):
            progress = int(operation.get("metadata", {}).get("progressPercent", 0) or 0)
            return ProviderJob(provider_job_id, "running", progress=progress)
        if "error" in operation:
            error = operation["error"]
            return ProviderJob(provider_job_id, "failed", error_code="provider_failed",
                               error_message=str(error.get("message", error))[:500])  # fmt: skip
        result = operation.get("response", {}).get("generateVideoResponse", {})
        if result.get("raiMediaFilteredCount") or not result.get("generatedSamples"):
            reasons = "; ".join(result.get("raiMediaFilteredReasons") or ["no video was returned"])
            return ProviderJob(provider_job_id, "failed", error_code="provider_safety_refusal", error_message=reasons)
        return ProviderJob(provider_job_id, "succeeded", progress=100)

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        result = self._operation(provider_job_id).get("response", {}).get("generateVideoResponse", {})
        samples = result.get("generatedSamples") or []
        if not samples:
            raise ProviderPermanentError("Veo returned no video.", code="provider_no_output")
        uri = samples[0]["video"]["uri"]
        # The Gemini API serves generated files from its own host (``/v1beta/files/...:download``).
        require_provider_host(uri, base_url=self.base_url, provider=self.name)
        return download(self.client, uri, destination, provider=self.name)

    def cancel(self, provider_job_id: str) -> None:
        """Nothing to call: the worker simply stops polling the operation."""
