"""A local Replicate API that behaves as Replicate documents it.

- Create: https://replicate.com/docs/reference/http#predictions.create (``POST /v1/predictions``
  with ``version``) and #models.predictions.create (``POST /v1/models/{owner}/{name}/predictions``):
  201 with the prediction, its ``id`` assigned here; ``Authorization: Bearer`` required (401
  otherwise); unknown top-level fields and a missing ``input`` are 422 with ``invalid_fields``
  (https://replicate.com/changelog/2024-05-01-improved-validation-for-api-prediction-payloads).
- Get and cancel: ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel``.
- Statuses and their order: https://replicate.com/docs/topics/predictions/lifecycle.
- Rate limits: https://replicate.com/docs/topics/predictions/rate-limits (429, a ``detail`` body,
  no ``Retry-After`` header).
- Webhooks: https://replicate.com/docs/topics/webhooks/receive-webhook (the prediction object,
  ``start`` and ``completed`` always sent) signed as
  https://replicate.com/docs/topics/webhooks/verify-webhook says.
- Output files: served under ``/files/`` of this same server, standing for replicate.delivery; every
  request to them is recorded with its headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_cog import INPUT_SCHEMA, REQUIRED_INPUTS, JsonServer, http_sender
from tests.fake_providers import Recorded

VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
MODEL = "acme/video-model"
CREATE_FIELDS = {"version", "input", "webhook", "webhook_events_filter", "stream"}
UNAUTHENTICATED = {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
                   "status": 401}  # fmt: skip


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` Replicate sends: ``v1,`` + base64 HMAC-SHA256 of id.timestamp.body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class FakeReplicate(JsonServer):
    output: Path
    token: str = "r8_secret-token"
    signing_secret: str = field(default_factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
    sender: Callable = http_sender
    throttled: int = 0  # answer the next N creates with 429
    predictions: dict[str, dict] = field(default_factory=dict)
    webhooks: list[dict] = field(default_factory=list)  # what was sent, with its headers
    hooks: dict[str, tuple] = field(default_factory=dict)  # prediction id: (webhook URL, events filter)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def files(self, path):
        return self.output if path == f"/files/{self.output.name}" else None

    @property
    def downloads(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/files/")]

    def handle(self, method, path, headers, body):
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, UNAUTHENTICATED
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "predictions"]:
            return self._create(body, version_required=True)
        if method == "POST" and len(parts) == 5 and parts[:2] == ["v1", "models"] and parts[4] == "predictions":
            if f"{parts[2]}/{parts[3]}" != MODEL:
                return 404, {
                    "title": "Not found",
                    "detail": "The requested resource could not be found.",
                    "status": 404,
                }
            return self._create(body, version_required=False)
        if len(parts) >= 3 and parts[:2] == ["v1", "predictions"]:
            prediction = self.predictions.get(parts[2])
            if prediction is None:
                return 404, {"detail": "Not found.", "status": 404}
            if method == "POST" and parts[3:] == ["cancel"]:
                if prediction["status"] in ("starting", "processing"):
                    prediction["status"] = "canceled"  # its completed webhook: see advance()
                return 200, prediction
            if method == "GET" and len(parts) == 3:
                return 200, prediction
        return 404, {"detail": "Not found.", "status": 404}

    def _create(self, body, *, version_required: bool) -> tuple[int, object]:
        if self.throttled:
            self.throttled -= 1
            return 429, {"detail": "Request was throttled. Your rate limit resets in ~7s."}
        body = body if isinstance(body, dict) else {}
        allowed = CREATE_FIELDS if version_required else CREATE_FIELDS - {"version"}
        invalid = [{"type": "additional_property_not_allowed", "field": "",
                    "description": f"Additional property {name} is not allowed"}
                   for name in sorted(body.keys() - allowed)]  # fmt: skip
        if "input" not in body:
            invalid.append({"type": "required", "field": "", "description": "input is required"})
        if version_required and body.get("version") != VERSION:
            invalid.append({"type": "invalid", "field": "version", "description": "Invalid version or not permitted"})
        model_input = body.get("input") if isinstance(body.get("input"), dict) else {}
        invalid += [{"type": "required", "field": f"input.{name}", "description": f"{name} is required"}
                    for name in sorted(REQUIRED_INPUTS - model_input.keys())]  # fmt: skip
        if invalid:
            return 422, {"title": "Input validation failed", "detail": "- " + "\n- ".join(
                i["description"] for i in invalid), "status": 422, "invalid_fields": invalid}  # fmt: skip
        prediction_id = base64.b32encode(secrets.token_bytes(16)).decode().lower().rstrip("=")
        prediction = {
            "id": prediction_id, "model": MODEL, "version": VERSION,
            "input": {k: v for k, v in model_input.items() if k in INPUT_SCHEMA},
            "logs": "", "output": None, "data_removed": False, "error": None, "status": "starting",
            "created_at": "2026-11-30T16:00:00.000Z",
            "urls": {"get": f"{self.url}/v1/predictions/{prediction_id}",
                     "cancel": f"{self.url}/v1/predictions/{prediction_id}/cancel"},
        }  # fmt: skip
        with self.lock:
            self.predictions[prediction_id] = prediction
            self.hooks[prediction_id] = (body.get("webhook"), body.get("webhook_events_filter") or ["completed"])
        return 201, prediction

    def advance(self, prediction_id: str, status: str, *, error: str | None = None) -> None:
        """Move a prediction on (starting → processing → succeeded | failed | canceled | aborted), sending
        the ``start`` webhook as it starts processing and ``completed`` as it ends. Called by the test (its
        thread and transaction), as time passing would."""
        prediction = self.predictions[prediction_id]
        prediction["status"] = status
        prediction["error"] = error
        if status == "succeeded":
            prediction["output"] = f"{self.url}/files/{self.output.name}"
        self._webhook(prediction_id, "start" if status in ("starting", "processing") else "completed")

    def signed_headers(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict:
        webhook_id = f"msg_{secrets.token_hex(8)}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {"Content-Type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret or self.signing_secret, webhook_id, timestamp, body)}  # fmt: skip

    def _webhook(self, prediction_id: str, event: str) -> None:
        url, events = self.hooks.get(prediction_id, (None, []))
        # "start" and "completed" are always sent (changelog 2023-02-10, webhook events and filtering).
        if not url or (event not in events and event not in ("start", "completed")):
            return
        body = json.dumps(self.predictions[prediction_id]).encode()
        headers = self.signed_headers(body)
        self.webhooks.append({"body": body, "headers": headers})
        self.sender("POST", url, content=body, headers=headers)
