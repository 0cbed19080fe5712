"""Video models hosted on Replicate (https://replicate.com), through its HTTP API.

As Replicate documents it:

- Create (https://replicate.com/docs/reference/http#predictions.create): ``POST /v1/predictions``
  with ``version``, or ``POST /v1/models/{owner}/{name}/predictions`` for an official model's
  latest version; ``Authorization: Bearer <token>``. It answers 201 with the prediction, whose
  ``id`` Replicate assigns: we keep it. It takes no client-chosen id nor idempotency key: the
  worker stores the id the moment the 201 comes back and polls it from then on, and with webhooks
  the webhook URL names the render job (signed), so a worker killed between the 201 and that write
  finds the prediction its start webhook recorded instead of creating another. (Polling without
  webhooks, that one window can still create a second prediction.)
- Statuses (https://replicate.com/docs/topics/predictions/lifecycle): ``starting``,
  ``processing``, ``succeeded``, ``failed``, ``canceled`` (by us, or past its deadline after
  starting) and ``aborted`` (past its deadline before starting; not billed). Any other status fails
  the job rather than polling forever.
- Progress: webhooks when ``webhook_url`` is set (``webhook`` and ``webhook_events_filter``,
  https://replicate.com/docs/topics/webhooks/receive-webhook), verified by their signature
  (``webhook_signature_valid``), kept in PostgreSQL; ``poll`` reads that state and still asks
  ``GET /v1/predictions/{id}`` now and then, in case a webhook was lost. Without a webhook URL,
  ``poll`` asks the API every time (https://replicate.com/docs/topics/predictions/lifecycle,
  "poll the API or use webhooks").
- Rate limits (https://replicate.com/docs/topics/predictions/rate-limits): 429 with a body like
  ``{"detail": "Request was throttled. Your rate limit resets in ~30s."}``; we wait that long
  (or a ``Retry-After`` header's time when there is one) before trying again.
- Cancel: ``POST /v1/predictions/{id}/cancel``.
- Output files are served by ``replicate.delivery`` and its subdomains (create's reference): they
  are downloaded from there only, over HTTPS, by a client that carries no API token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.core import signing

from backend.core.http import (
    TIMEOUT,
    ProviderPermanentError,
    ProviderTransientError,
    download,
    request,
    require_provider_host,
)
from media.models import ProviderPrediction
from media.providers.base import ProviderJob, RenderSpec
from media.providers.predictions import (
    model_input,
    output_reference,
    provider_job,
    stored_prediction,
    stored_provider_job,
)

NAME = "replicate"
WEBHOOK_EVENTS = ["start", "completed"]
DELIVERY_HOSTS = ("replicate.delivery",)
# How old a webhook's timestamp may be, either way (Standard Webhooks recommends five minutes).
WEBHOOK_TOLERANCE_S = 300
_JOB_SALT = "media.replicate.webhook-job"
WEBHOOK_JOB_TOKEN_MAX_AGE_S = 2 * 24 * 3600
_THROTTLED = re.compile(r"resets in ~?(\d+(?:\.\d+)?)\s*s")


def webhook_job_token(key: str) -> str:
    return signing.dumps(key, salt=_JOB_SALT)


def webhook_job_key(token: str) -> str:
    """The render job a webhook URL was made for ('' when it names none or is forged). Replicate's
    signature covers the body, not the URL: the key is signed by us."""
    try:
        return signing.loads(token, salt=_JOB_SALT, max_age=WEBHOOK_JOB_TOKEN_MAX_AGE_S) if token else ""
    except signing.BadSignature:
        return ""


def webhook_signature_valid(*, headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> bool:
    """Whether a webhook is Replicate's, as https://replicate.com/docs/topics/webhooks/verify-webhook says.

    The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``, signed with HMAC-SHA256
    under the base64 key after ``whsec_`` of the signing secret (``GET /v1/webhooks/default/secret``);
    ``webhook-signature`` lists space-separated ``v1,<base64>`` signatures, one of which must match,
    compared in constant time. A timestamp more than five minutes from now is refused (replays).
    """
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and timestamp.isdigit() and signatures and secret.startswith("whsec_")):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > WEBHOOK_TOLERANCE_S:
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        version == "v1" and hmac.compare_digest(expected, signature.encode())
        for version, _, signature in (entry.partition(",") for entry in signatures.split())
    )


def _job(prediction: dict) -> ProviderJob:
    return provider_job(str(prediction["id"]), str(prediction.get("status") or ""), prediction.get("error"))


def _throttled_for(error: ProviderTransientError) -> float | None:
    """Seconds Replicate's 429 body says its limit resets in ("…resets in ~30s.")."""
    found = _THROTTLED.search(str(error))
    return float(found[1]) if found else None


class ReplicateProvider:
    name = NAME

    def __init__(self, *, api_token: str = "", model: str = "", version: str = "", webhook_url: str = "",
                 webhook_signing_secret: str = "", base_url: str = "https://api.replicate.com",
                 delivery_hosts: tuple[str, ...] | list[str] = DELIVERY_HOSTS, webhook_recheck_s: float = 60.0,
                 client: httpx.Client | None = None):  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.model = model.strip("/")
        self.version = version
        self.webhook_url = webhook_url
        self.webhook_signing_secret = webhook_signing_secret
        self.delivery_hosts = tuple(h.lower() for h in delivery_hosts)
        self.webhook_recheck_s = webhook_recheck_s
        self.api_token = api_token
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"Authorization": f"Bearer {api_token}"})
        # Output downloads go to another host: never with the API token.
        self.download_client = httpx.Client(timeout=TIMEOUT)
        self._asked_api_at: dict[str, float] = {}

    def configuration_error(self) -> str:
        """Why this provider cannot render, or '' (``media/checks.py`` refuses to start on it)."""
        if not self.api_token:
            return "Set REPLICATE_API_TOKEN (https://replicate.com/account/api-tokens)."
        if not (self.model or self.version):
            return "Set REPLICATE_MODEL (owner/name) or REPLICATE_VERSION (a version id) to render with Replicate."
        if self.webhook_url and not self.webhook_signing_secret.startswith("whsec_"):
            return (
                "Set REPLICATE_WEBHOOK_SIGNING_SECRET (whsec_…, from GET /v1/webhooks/default/secret) to verify "
                "Replicate's webhooks, or unset REPLICATE_WEBHOOK_URL to poll instead."
            )
        return ""

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return request(self.client, method, f"{self.base_url}{path}", provider=self.name, **kwargs)
        except ProviderTransientError as error:
            if error.status == 429 and error.retry_after is None:
                error.retry_after = _throttled_for(error)
            raise

    def validate(self, spec: RenderSpec) -> None:
        """The model's inputs are its own; Replicate validates them (a 422 at create)."""

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
        problem = self.configuration_error()
        if problem:
            raise ProviderPermanentError(problem, code="provider_not_configured")
        body: dict = {"input": model_input(spec)}
        if self.webhook_url:
            # Replicate takes no client id nor idempotency key. Its start webhook names the job, so a
            # worker that died between the 201 and storing the id finds that prediction here.
            created = ProviderPrediction.objects.filter(provider=self.name, job_key=key).order_by("created_at").first()
            if created is not None:
                return stored_provider_job(created, created.prediction_id)
            webhook = f"{self.webhook_url}?job={webhook_job_token(key)}"
            body |= {"webhook": webhook, "webhook_events_filter": WEBHOOK_EVENTS}
        if self.version:
            body["version"] = self.version
            path = "/v1/predictions"
        else:
            path = f"/v1/models/{self.model}/predictions"
        prediction = self._request("POST", path, json=body).json()
        if not prediction.get("id"):
            raise ProviderPermanentError(
                "Replicate created a prediction without an id.", code="provider_invalid_answer"
            )
        return _job(prediction)

    def _api_provider_job(self, prediction_id: str) -> ProviderJob:
        self._asked_api_at[prediction_id] = time.monotonic()
        return _job({"id": prediction_id, **self._request("GET", f"/v1/predictions/{prediction_id}").json()})

    def poll(self, provider_job_id: str) -> ProviderJob:
        if self.webhook_url:
            stored = stored_prediction(self.name, provider_job_id)
            asked = self._asked_api_at.setdefault(provider_job_id, time.monotonic())
            # Webhooks can be lost: the API is asked again once they have been quiet for a while.
            if (stored is not None and stored.is_final) or time.monotonic() - asked < self.webhook_recheck_s:
                return stored_provider_job(stored, provider_job_id)
        return self._api_provider_job(provider_job_id)

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        stored = stored_prediction(self.name, provider_job_id)
        url = stored.output_url if stored is not None else ""
        if not url:
            prediction = self._request("GET", f"/v1/predictions/{provider_job_id}").json()
            url = output_reference(prediction.get("output"))
        if not url:
            raise ProviderPermanentError("The model returned no video.", code="provider_no_output")
        host = (urlsplit(url).hostname or "").lower()
        delivery = [host] if any(host == h or host.endswith(f".{h}") for h in self.delivery_hosts) else []
        require_provider_host(url, base_url=self.base_url, extra_hosts=delivery, provider=self.name)
        return download(self.download_client, url, destination, provider=self.name)

    def cancel(self, provider_job_id: str) -> None:
        self._request("POST", f"/v1/predictions/{provider_job_id}/cancel")
