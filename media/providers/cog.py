"""Open-weights video models (Wan, LTX-Video, HunyuanVideo…) served with Cog.

Cog's HTTP API: ``PUT /predictions/{id}`` with ``Prefer: respond-async`` starts
a prediction and answers 202; progress and the result arrive as webhooks
(``webhook`` and ``webhook_events_filter`` in the body); ``POST
/predictions/{id}/cancel`` cancels. Our webhook endpoint stores each
prediction's latest state in the cache and ``poll`` reads it there, so the
worker never needs a status endpoint (Cog's own server has none). Against
Replicate's hosted API, which does have ``GET /predictions/{id}``, set
``poll_api=True`` and polling asks the API instead.

Prediction objects carry ``status`` (starting, processing, succeeded, failed,
canceled), ``output`` (a URL or a data URI, or a list of them) and ``error``.
"""

from __future__ import annotations

import base64
import mimetypes
import uuid
from pathlib import Path

import httpx
from django.core import signing
from django.core.cache import cache

from backend.core.http import TIMEOUT, ProviderPermanentError, download, request, require_provider_host
from media.providers.base import ProviderJob, RenderSpec

_STATES = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "cancelled",
}
_FINAL = {"succeeded", "failed", "cancelled"}
_WEBHOOK_SALT = "media.cog.webhook"
STATE_TTL_S = 24 * 3600


def _state_key(prediction_id: str) -> str:
    return f"cog-prediction:{prediction_id}"


def webhook_token(prediction_id: str) -> str:
    return signing.dumps(prediction_id, salt=_WEBHOOK_SALT)


def webhook_prediction_id(token: str) -> str | None:
    """The prediction a webhook token was issued for, or None when it is forged."""
    try:
        return signing.loads(token, salt=_WEBHOOK_SALT, max_age=2 * STATE_TTL_S)
    except signing.BadSignature:
        return None


def parse_prediction(payload: dict) -> ProviderJob:
    state = _STATES.get(payload.get("status", ""), "running")
    error = payload.get("error") or ""
    return ProviderJob(
        provider_job_id=str(payload.get("id", "")),
        state=state,
        progress=100 if state == "succeeded" else (50 if state == "running" else 0),
        error_code="provider_failed" if state == "failed" else "",
        error_message=str(error)[:500],
    )


def record_webhook(*, prediction_id: str, payload: dict) -> ProviderJob:
    """Keep the newest state of a prediction; a late, older event never undoes a final one."""
    job = parse_prediction({**payload, "id": prediction_id})
    known = cache.get(_state_key(prediction_id))
    if known and known["state"] in _FINAL:
        return parse_prediction({"id": prediction_id, "status": known["status"], "error": known.get("error")})
    output = payload.get("output")
    cache.set(
        _state_key(prediction_id),
        {"state": job.state, "status": payload.get("status"), "error": payload.get("error"), "output": output},
        STATE_TTL_S,
    )
    return job


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


class CogProvider:
    name = "cog"

    def __init__(self, *, base_url: str, api_token: str = "", webhook_url: str = "", poll_api: bool = False,
                 download_hosts: tuple[str, ...] | list[str] = (), client: httpx.Client | None = None):  # fmt: skip
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self.base_url = base_url.rstrip("/")
        # Results are fetched only from the base URL's origin and these HTTPS hosts (e.g. a CDN).
        self.download_hosts = tuple(download_hosts)
        self.webhook_url = webhook_url.rstrip("/")
        self.poll_api = poll_api
        self.client = client or httpx.Client(timeout=TIMEOUT, headers=headers)

    def _input(self, spec: RenderSpec) -> dict:
        restrictions = [
            d.split("must never appear:", 1)[1].strip() for d in spec.directions if "must never appear:" in d
        ]
        prompt = spec.prompt
        if spec.directions:
            prompt += "\n" + "\n".join(spec.directions)
        model_input = {
            "prompt": prompt,
            "negative_prompt": ", ".join(restrictions),
            "duration": spec.duration_s,
            "width": spec.width,
            "height": spec.height,
            "aspect_ratio": spec.aspect,
        }
        if spec.seed is not None:
            model_input["seed"] = spec.seed
        if spec.reference_images:
            model_input["image"] = _data_uri(spec.reference_images[0])
        return model_input

    def submit(self, spec: RenderSpec) -> ProviderJob:
        prediction_id = uuid.uuid4().hex
        body: dict = {"input": self._input(spec)}
        if self.webhook_url:
            body["webhook"] = f"{self.webhook_url}/{prediction_id}?token={webhook_token(prediction_id)}"
            body["webhook_events_filter"] = ["start", "output", "completed"]
        response = request(
            self.client, "PUT", f"{self.base_url}/predictions/{prediction_id}", provider=self.name,
            json=body, headers={"Prefer": "respond-async"},
        )  # fmt: skip
        payload = response.json() if response.content else {"status": "starting"}
        return parse_prediction({**payload, "id": prediction_id})

    def _prediction(self, prediction_id: str) -> dict:
        if self.poll_api:
            return request(
                self.client, "GET", f"{self.base_url}/predictions/{prediction_id}", provider=self.name
            ).json()
        return cache.get(_state_key(prediction_id)) or {"status": "processing"}

    def poll(self, provider_job_id: str) -> ProviderJob:
        return parse_prediction({**self._prediction(provider_job_id), "id": provider_job_id})

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        output = self._prediction(provider_job_id).get("output")
        if isinstance(output, list):
            output = output[-1] if output else None
        if not output:
            raise ProviderPermanentError("The model returned no video.", code="provider_no_output")
        if output.startswith("data:"):
            destination.write_bytes(base64.b64decode(output.split(",", 1)[1]))
            return destination
        require_provider_host(output, base_url=self.base_url, extra_hosts=self.download_hosts, provider=self.name)
        return download(self.client, output, destination, provider=self.name)

    def cancel(self, provider_job_id: str) -> None:
        request(self.client, "POST", f"{self.base_url}/predictions/{provider_job_id}/cancel", provider=self.name)
