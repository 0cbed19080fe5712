"""A local Cog server that behaves as replicate/cog documents and implements it.

Sources: ``docs/http.md`` (PUT /predictions/{id}, webhooks, ``--upload-url``, cancel) and the
server's routes, ``crates/coglet/src/transport/http/routes.rs`` (what a repeated PUT, a full slot or
a bad input answers), and ``crates/coglet/src/orchestrator.rs`` ``upload_file`` (the upload request).

Webhooks and uploads are the requests Cog makes to us. They go out through ``sender`` (real HTTP by
default; tests pass one that calls Django's test client, so the test's transaction sees them) when the
test moves a prediction on with ``start()`` or ``finish()``, as time passing would.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.fake_http import Answer, LocalHttpServer
from tests.fake_providers import Recorded

# The served model's inputs, as its OpenAPI schema would declare them (``Input`` of /openapi.json).
INPUT_SCHEMA = {
    "prompt": str,
    "negative_prompt": str,
    "duration": (int, float),
    "width": int,
    "height": int,
    "aspect_ratio": str,
    "seed": int,
    "image": str,
}
REQUIRED_INPUTS = {"prompt"}


def http_sender(method: str, url: str, *, content: bytes = b"", headers: dict | None = None):
    return httpx.request(method, url, content=content, headers=headers or {}, timeout=30)


def django_sender(client) -> Callable:
    """Deliver the fake's outgoing requests to this Django test client instead of over the network."""

    def send(method: str, url: str, *, content: bytes = b"", headers: dict | None = None):
        headers = dict(headers or {})
        parts = urlsplit(url)
        response = client.generic(
            method, urlunsplit(("", "", parts.path, parts.query, "")), data=content,
            content_type=headers.pop("Content-Type", "application/octet-stream"), headers=headers,
        )  # fmt: skip
        return SimpleNamespace(status_code=response.status_code, headers=response.headers, url=url)

    return send


class JsonServer(LocalHttpServer):
    """A local server whose ``handle`` answers ``(status, body)`` in JSON and ``files`` serves outputs."""

    def handle(self, method: str, path: str, headers: dict, body) -> tuple[int, object]:
        raise NotImplementedError

    def files(self, path: str) -> Path | None:
        return None

    def start(self):
        self.requests: list[Recorded] = getattr(self, "requests", [])
        return super().start()

    def respond(self, method: str, path: str, headers, raw: bytes) -> Answer:
        headers = dict(headers)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.requests.append(Recorded(method, path, headers, body))
        served = self.files(path) if method == "GET" else None
        if served is not None:
            return Answer(200, served.read_bytes(), "video/mp4")
        return Answer.json(*self.handle(method, path.split("?", 1)[0], headers, body))


@dataclass
class FakeCog(JsonServer):
    output: Path
    upload_url: str = ""  # as if started with --upload-url
    slots: int = 1  # "By default, the server runs one prediction at a time"
    sender: Callable = http_sender
    running: dict[str, dict] = field(default_factory=dict)
    submissions: list[str] = field(default_factory=list)  # ids of the predictions started
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method, path, headers, body):
        parts = path.strip("/").split("/")
        if method == "PUT" and len(parts) == 2 and parts[0] == "predictions":
            return self._put(parts[1], headers, body)
        if method == "POST" and len(parts) == 3 and parts[0] == "predictions" and parts[2] == "cancel":
            # docs/http.md: 200 when a prediction with that id exists, else 404.
            with self.lock:
                known = self.running.get(parts[1])
            if known is None:
                return 404, {}
            known["cancel_requested"] = True
            return 200, {}
        return 404, {"detail": "Not Found"}

    def _put(self, prediction_id: str, headers: dict, body) -> tuple[int, object]:
        body = body if isinstance(body, dict) else {}
        if body.get("id") not in (None, prediction_id):  # routes.rs create_prediction_idempotent
            message = "prediction ID must match the ID supplied in the URL"
            return 422, {"detail": [{"loc": ["body", "id"], "msg": message, "type": "value_error"}]}
        if headers.get("Prefer") != "respond-async":
            return 400, {"detail": "this fake serves asynchronous (Prefer: respond-async) predictions only"}
        with self.lock:
            if prediction_id in self.running:  # still in flight: 202 with it, no new prediction
                return 202, self._response(prediction_id)
            # Unknown inputs are stripped, then the rest validated against the schema: 422 per field.
            model_input = {k: v for k, v in (body.get("input") or {}).items() if k in INPUT_SCHEMA}
            errors = [
                {"loc": ["body", "input", name], "msg": "field required", "type": "value_error.missing"}
                for name in sorted(REQUIRED_INPUTS - model_input.keys())
            ] + [
                {"loc": ["body", "input", name], "msg": f"{name} has the wrong type", "type": "type_error"}
                for name, value in model_input.items()
                if not isinstance(value, INPUT_SCHEMA[name]) or isinstance(value, bool)
            ]
            if errors:
                return 422, {"detail": errors}
            if len(self.running) >= self.slots:
                return 409, {"error": "At capacity - all prediction slots busy", "status": "failed"}
            self.running[prediction_id] = {"id": prediction_id, "status": "starting", "input": model_input,
                                           "webhook": body.get("webhook"),
                                           "filter": body.get("webhook_events_filter") or
                                           ["start", "output", "logs", "completed"]}  # fmt: skip
            self.submissions.append(prediction_id)
        return 202, {"id": prediction_id, "status": "starting"}

    def _response(self, prediction_id: str) -> dict:
        prediction = self.running[prediction_id]
        return {key: prediction[key] for key in ("id", "status", "input") if key in prediction}

    def _webhook(self, prediction: dict, event: str, **fields) -> None:
        if prediction["webhook"] and event in prediction["filter"]:
            payload = {"id": prediction["id"], "input": prediction["input"], "status": prediction["status"], **fields}
            self.sender("POST", prediction["webhook"], content=json.dumps(payload).encode(),
                        headers={"Content-Type": "application/json"})  # fmt: skip

    def begin(self, prediction_id: str) -> None:
        """The prediction's run begins (the ``start`` webhook)."""
        prediction = self.running[prediction_id]
        self._webhook(prediction, "start")
        prediction["status"] = "processing"

    def _output(self) -> str:
        """orchestrator.rs: PUT {upload-url}/{filename} with the file's Content-Type, output = the
        answer's Location (else the request URL) without its query; without an upload URL, a data URI."""
        mime = mimetypes.guess_type(self.output.name)[0] or "application/octet-stream"
        if not self.upload_url:
            return f"data:{mime};base64,{base64.b64encode(self.output.read_bytes()).decode()}"
        url = self.upload_url.rstrip("/") + "/" + self.output.name
        answer = self.sender("PUT", url, content=self.output.read_bytes(), headers={"Content-Type": mime})
        if not 200 <= answer.status_code < 300:
            raise RuntimeError(f"upload returned status {answer.status_code}")
        return urlunsplit(urlsplit(answer.headers.get("Location") or url)._replace(query=""))

    def finish(self, prediction_id: str, status: str = "succeeded", error: str | None = None) -> None:
        """The prediction ends: its output uploaded, the ``completed`` webhook sent, its slot freed."""
        prediction = self.running[prediction_id]
        fields: dict = {"error": error} if error else {}
        if status == "succeeded":
            fields["output"] = self._output()
        prediction["status"] = status
        self._webhook(prediction, "completed", **fields)
        with self.lock:
            del self.running[prediction_id]
