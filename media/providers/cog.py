"""Open-weights video models (Wan, LTX-Video, HunyuanVideo…) served with Cog's HTTP server.

As replicate/cog ``docs/http.md`` documents it, and as its server answers
(``crates/coglet/src/transport/http/routes.rs``, ``create_prediction_idempotent``):

- ``PUT /predictions/{id}`` with ``Prefer: respond-async`` starts a prediction under the id the
  client chooses and answers 202 ``{"id", "status": "starting"}``. A second PUT of an id that is
  still running answers 202 with that prediction, creating none: we use the render job's id, so a
  retried submit never starts a second render. (Once a prediction has finished Cog forgets it, so
  ``submit`` looks at the state its webhooks left before sending the PUT again.)
- 409 means every prediction slot is busy ("At capacity - all prediction slots busy"): transient.
  422 is an input the model's schema refuses: permanent.
- "Polling for prediction status is not currently supported": progress and the result come only
  as webhooks (``webhook`` and ``webhook_events_filter`` in the body). A Cog provider without a
  webhook URL cannot finish a job, so it refuses to submit (and ``media/checks.py`` refuses to start).
  Our webhook endpoint keeps each prediction's state in PostgreSQL (``ProviderPrediction``) and
  ``poll`` reads it there.
- Output files: by default a base64 data URI inside the prediction. Started with
  ``--upload-url``, Cog PUTs each file to ``{upload-url}/{filename}`` with its ``Content-Type`` and
  puts the ``Location`` the upload answered (query stripped) in ``output``
  (``crates/coglet/src/orchestrator.rs``, ``upload_file``). Our upload endpoint
  (``media/api.py``, ``CogUploadView``) stores the file in private storage, so ``fetch_result``
  copies it from there and nothing large ever travels in a webhook.
- ``POST /predictions/{id}/cancel`` cancels; 404 when Cog does not know the id.

The upload URL is one per Cog server (a command-line flag; the PUT carries neither the prediction
id nor anything else of it), so uploads are authenticated per deployment, with a token signed with
our secret key in the path; an upload is bound to its prediction when that prediction's webhook,
authenticated per prediction, names it, and a file can be bound to one prediction only.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.text import get_valid_filename

from backend.core import storage
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

NAME = "cog"
# Cog's statuses (docs/http.md, "Webhooks" and "POST /predictions"); anything else fails the job.
_STATES = {"starting": "queued", "processing": "running", "succeeded": "succeeded", "failed": "failed",
           "canceled": "cancelled"}  # fmt: skip
_ERROR_CODES = {"failed": "provider_failed", "cancelled": "provider_cancelled"}
# We need the start (for progress) and the end; "output" and "logs" events would resend the whole
# output every 500 ms.
WEBHOOK_EVENTS = ["start", "completed"]
_WEBHOOK_SALT = "media.cog.webhook"
_UPLOAD_SALT = "media.cog.upload"
WEBHOOK_TOKEN_MAX_AGE_S = 2 * 24 * 3600
UPLOAD_PREFIX = "provider-outputs/cog"
# Where an upload says its file is (the ``Location`` Cog copies into ``output``): an identifier of
# ours, never fetched; ``fetch_result`` reads the file from private storage.
_UPLOADED = re.compile(r"/uploads/cog/outputs/(?P<upload>[0-9a-f]{32})/(?P<filename>[^/]+)$")


def webhook_token(prediction_id: str) -> str:
    return signing.dumps(prediction_id, salt=_WEBHOOK_SALT)


def webhook_prediction_id(token: str) -> str | None:
    """The prediction a webhook token was issued for, or None when it is forged or expired."""
    try:
        return signing.loads(token, salt=_WEBHOOK_SALT, max_age=WEBHOOK_TOKEN_MAX_AGE_S)
    except signing.BadSignature:
        return None


def upload_token() -> str:
    """The token in this deployment's ``--upload-url`` (``manage.py cog_upload_url`` prints the URL)."""
    return salted_hmac(_UPLOAD_SALT, "cog-upload", algorithm="sha256").hexdigest()


def upload_token_valid(token: str) -> bool:
    return constant_time_compare(token, upload_token())


def upload_store(stream, *, filename: str, length: int) -> str:
    """Save an uploaded output, ``length`` bytes read from ``stream``, in private storage; its name.

    The body goes through a temporary file in chunks, never whole in memory. ValueError when the
    stream ends early (the file is not stored).
    """
    safe = get_valid_filename(Path(filename).name)[-100:] or "output"
    with tempfile.TemporaryFile() as spool:
        left = length
        while left > 0:
            chunk = stream.read(min(left, 1024 * 1024))
            if not chunk:
                raise ValueError("The upload ended before its Content-Length.")
            spool.write(chunk)
            left -= len(chunk)
        spool.seek(0)
        return storage.private().save(f"{UPLOAD_PREFIX}/{uuid.uuid4().hex}/{safe}", File(spool))


def upload_location(name: str) -> str:
    """The path our upload answers in ``Location`` for the stored file ``name``."""
    return f"/api/v1/uploads/cog/outputs/{name.removeprefix(UPLOAD_PREFIX + '/')}"


def output_reference(output) -> str:
    """The one output we render from: a string, or the last of a list (a video model returns one file)."""
    if isinstance(output, list):
        output = output[-1] if output else None
    return output if isinstance(output, str) else ""


def webhook_output(output: str) -> dict:
    """Where a succeeded prediction's output is, as ``ProviderPrediction`` fields.

    Our upload's location becomes the stored file; a data URI (Cog started without ``--upload-url``)
    is decoded into private storage here, once, so no video is kept in a row or in Redis; any other
    URL is kept to be fetched, from the provider's own hosts only, by ``fetch_result``.
    """
    try:
        uploaded = _UPLOADED.search(urlsplit(output).path) if output.startswith(("http://", "https://")) else None
    except ValueError:  # not a URL at all: kept as given, and refused by fetch_result's host check
        uploaded = None
    if uploaded:
        name = f"{UPLOAD_PREFIX}/{uploaded['upload']}/{uploaded['filename']}"
        if not storage.private().exists(name):
            return {"error": "Cog named an uploaded output that was not received."}
        return {"output_file": name}
    if output.startswith("data:"):
        header, _, data = output.partition(",")
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return {"error": "Cog returned an output that is not valid base64."}
        mime = header.removeprefix("data:").split(";")[0]
        name = f"{UPLOAD_PREFIX}/{uuid.uuid4().hex}/output{mimetypes.guess_extension(mime) or '.bin'}"
        return {"output_file": storage.private().save(name, ContentFile(content))}
    if output:
        return {"output_url": output}
    return {}


def provider_job(prediction_id: str, status: str, error: str = "") -> ProviderJob:
    if status not in _STATES:
        return ProviderJob(prediction_id, "failed", error_code="provider_unknown_status",
                           error_message=f"The provider reported an unknown status: {status[:50]!r}.")  # fmt: skip
    state = _STATES[status]
    progress = {"succeeded": 100, "running": 50}.get(state, 0)
    return ProviderJob(prediction_id, state, progress=progress, error_code=_ERROR_CODES.get(state, ""),
                       error_message=str(error or "")[:500])  # fmt: skip


def model_input(spec: RenderSpec) -> dict:
    """The inputs open video models served by Cog (and hosted on Replicate) commonly take.

    Unknown inputs are dropped by Cog (routes.rs: "Unknown inputs are silently dropped to match
    Replicate's historical API behavior"), so a model that takes fewer ignores the rest.
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


def stored_prediction(provider: str, prediction_id: str) -> ProviderPrediction | None:
    return ProviderPrediction.objects.filter(provider=provider, prediction_id=prediction_id).first()


def fetch_stored_output(prediction: ProviderPrediction | None, destination: Path, *, fetch_url) -> Path:
    """Copy a prediction's output to ``destination``: from private storage, or by ``fetch_url(url)``."""
    if prediction is not None and prediction.output_file:
        return storage.download(storage.private(), prediction.output_file, destination)
    if prediction is not None and prediction.output_url:
        return fetch_url(prediction.output_url)
    raise ProviderPermanentError("The model returned no video.", code="provider_no_output")


class CogProvider:
    name = NAME

    def __init__(self, *, base_url: str, webhook_url: str = "", api_token: str = "",
                 download_hosts: tuple[str, ...] | list[str] = (), client: httpx.Client | None = None):  # fmt: skip
        # Cog's server has no authentication of its own; a token is for a proxy in front of it.
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self.base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url.rstrip("/")
        # Outputs given as URLs (a model that uploads elsewhere) are fetched only from the base URL's
        # origin and these HTTPS hosts.
        self.download_hosts = tuple(download_hosts)
        self.client = client or httpx.Client(timeout=TIMEOUT, headers=headers)

    def configuration_error(self) -> str:
        """Why this provider cannot finish a render, or '' (``media/checks.py`` refuses to start on it)."""
        if not self.webhook_url:
            return (
                "Cog reports progress and results only by webhook (it has no status endpoint): set "
                "COG_WEBHOOK_URL to this service's public URL + /api/v1/webhooks/cog."
            )
        return ""

    def validate(self, spec: RenderSpec) -> None:
        """Cog's inputs are the served model's; its server validates them (a 422 at submit)."""

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
        problem = self.configuration_error()
        if problem:
            raise ProviderPermanentError(problem, code="provider_not_configured")
        known = stored_prediction(self.name, key)
        if known is not None and known.is_final:
            # Cog forgets a finished prediction: a PUT now would render it again.
            return provider_job(key, known.status, known.error)
        body = {
            "input": model_input(spec),
            "webhook": f"{self.webhook_url}/{key}?token={webhook_token(key)}",
            "webhook_events_filter": WEBHOOK_EVENTS,
        }
        try:
            response = request(self.client, "PUT", f"{self.base_url}/predictions/{key}", provider=self.name,
                               json=body, headers={"Prefer": "respond-async"})  # fmt: skip
        except ProviderPermanentError as error:
            if error.status != 409:
                raise
            raise ProviderTransientError(
                "Cog is busy with another prediction (every slot is in use).", code="provider_busy", status=409
            ) from error
        payload = response.json() if response.content else {}
        return provider_job(key, payload.get("status") or "starting")

    def poll(self, provider_job_id: str) -> ProviderJob:
        known = stored_prediction(self.name, provider_job_id)
        if known is None or not known.status:
            return ProviderJob(provider_job_id, "queued")  # no webhook yet
        return provider_job(provider_job_id, known.status, known.error)

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        def fetch_url(url: str) -> Path:
            require_provider_host(url, base_url=self.base_url, extra_hosts=self.download_hosts, provider=self.name)
            return download(self.client, url, destination, provider=self.name)

        return fetch_stored_output(stored_prediction(self.name, provider_job_id), destination, fetch_url=fetch_url)

    def cancel(self, provider_job_id: str) -> None:
        request(self.client, "POST", f"{self.base_url}/predictions/{provider_job_id}/cancel", provider=self.name)


def upload_url_for(base_url: str) -> str:
    """The ``--upload-url`` to start Cog with, for this service at ``base_url``."""
    return f"{base_url.rstrip('/')}/api/v1/uploads/cog/{upload_token()}/"
