"""Cog's prediction object, which Replicate's API shares: statuses, output and inputs.

Statuses: Cog's (replicate/cog docs/http.md) are starting, processing, succeeded, failed and
canceled; Replicate adds aborted, a prediction past its deadline before it started
(https://replicate.com/docs/topics/predictions/lifecycle). Any other status fails the job rather
than leaving it polling until its time limit.
"""

from __future__ import annotations

import base64
import mimetypes

from media.models import ProviderPrediction
from media.providers.base import ProviderJob, RenderSpec

_STATES = {"starting": "queued", "processing": "running", "succeeded": "succeeded", "failed": "failed",
           "canceled": "cancelled", "aborted": "failed"}  # fmt: skip
_ERROR_CODES = {"failed": "provider_failed", "canceled": "provider_cancelled", "aborted": "provider_aborted"}
_DEFAULT_ERRORS = {"aborted": "The prediction passed its deadline before it started."}


def provider_job(prediction_id: str, status: str, error: str | None = "") -> ProviderJob:
    if status not in _STATES:
        return ProviderJob(prediction_id, "failed", error_code="provider_unknown_status",
                           error_message=f"The provider reported an unknown status: {status[:50]!r}.")  # fmt: skip
    state = _STATES[status]
    return ProviderJob(prediction_id, state, progress={"succeeded": 100, "running": 50}.get(state, 0),
                       error_code=_ERROR_CODES.get(status, ""),
                       error_message=str(error or _DEFAULT_ERRORS.get(status, ""))[:500])  # fmt: skip


def stored_provider_job(prediction: ProviderPrediction | None, prediction_id: str) -> ProviderJob:
    """The state webhooks left for a prediction; queued while none has arrived."""
    if prediction is None or not prediction.status:
        return ProviderJob(prediction_id, "queued")
    return provider_job(prediction_id, prediction.status, prediction.error)


def stored_prediction(provider: str, prediction_id: str) -> ProviderPrediction | None:
    return ProviderPrediction.objects.filter(provider=provider, prediction_id=prediction_id).first()


def output_reference(output) -> str:
    """The one output we render from: a string, or the last of a list (a video model returns one file)."""
    if isinstance(output, list):
        output = output[-1] if output else None
    return output if isinstance(output, str) else ""


def model_input(spec: RenderSpec) -> dict:
    """The inputs open video models served by Cog (and hosted on Replicate) commonly take.

    Unknown inputs are dropped by Cog (coglet's routes.rs: "Unknown inputs are silently dropped to
    match Replicate's historical API behavior"), so a model that takes fewer ignores the rest.
    """
    restrictions = [d.split("must never appear:", 1)[1].strip() for d in spec.directions if "must never appear:" in d]
    prompt = spec.prompt
    if spec.directions:
        prompt += "\n" + "\n".join(spec.directions)
    values = {
        "prompt": prompt,
        "negative_prompt": ", ".join(restrictions),
        "duration": spec.duration_s,
        "width": spec.width,
        "height": spec.height,
        "aspect_ratio": spec.aspect,
    }
    if spec.seed is not None:
        values["seed"] = spec.seed
    if spec.reference_images:
        path = spec.reference_images[0]
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        values["image"] = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
    return values
