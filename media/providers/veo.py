"""Google Veo through the Gemini API (long-running predictions).

Follows the Gemini API's REST shapes: ``POST /v1beta/models/{model}:predictLongRunning``
with ``instances[].prompt`` (and reference images) and ``parameters``
(aspectRatio, durationSeconds, resolution, negativePrompt); the answer names a
long-running operation, polled at ``GET /v1beta/{name}`` until ``done``; the
result is ``response.generateVideoResponse.generatedSamples[0].video.uri``,
downloaded with the API key. Videos filtered by Google's safety system come
back with ``raiMediaFilteredCount`` and reasons instead of samples.

Cameo owners' directions go into the prompt ("must never appear: ...") and the
negative prompt. The API documents no cancel for these operations: ``cancel``
only stops our polling (the worker does), which is all we can do.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

import httpx

from backend.core.http import TIMEOUT, ProviderPermanentError, download, request, require_provider_host
from media.providers.base import ProviderJob, RenderSpec

# Veo renders a few fixed lengths; we ask for the shortest that covers the request.
VEO_DURATIONS = (4, 6, 8)


class VeoProvider:
    name = "veo"

    def __init__(self, *, api_key: str, base_url: str = "https://generativelanguage.googleapis.com",
                 model: str = "veo-3.1-generate-preview", client: httpx.Client | None = None):  # fmt: skip
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"x-goog-api-key": api_key})

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
                for path in spec.reference_images[:3]
            ]
        short_side = min(spec.width, spec.height)
        parameters = {
            "aspectRatio": spec.aspect if spec.aspect in ("9:16", "16:9") else "9:16",
            "durationSeconds": next((d for d in VEO_DURATIONS if d >= spec.duration_s), VEO_DURATIONS[-1]),
            "resolution": "1080p" if short_side >= 1080 else "720p",
        }
        restrictions = [
            d.split("must never appear:", 1)[1].strip() for d in spec.directions if "must never appear:" in d
        ]
        if restrictions:
            parameters["negativePrompt"] = ", ".join(restrictions)
        if spec.seed is not None:
            parameters["seed"] = spec.seed
        return {"instances": [instance], "parameters": parameters}

    def validate(self, spec: RenderSpec) -> None:
        pass

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
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
