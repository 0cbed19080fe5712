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
from media.providers.base import ProviderJob, RenderSpec
from media.providers.predictions import model_input, provider_job, stored_prediction, stored_provider_job

NAME = "cog"
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
            return stored_provider_job(known, key)
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
        return stored_provider_job(stored_prediction(self.name, provider_job_id), provider_job_id)

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path:
        prediction = stored_prediction(self.name, provider_job_id)
        if prediction is not None and prediction.output_file:
            return storage.download(storage.private(), prediction.output_file, destination)
        if prediction is None or not prediction.output_url:
            raise ProviderPermanentError("The model returned no video.", code="provider_no_output")
        url = prediction.output_url
        require_provider_host(url, base_url=self.base_url, extra_hosts=self.download_hosts, provider=self.name)
        return download(self.client, url, destination, provider=self.name)

    def cancel(self, provider_job_id: str) -> None:
        request(self.client, "POST", f"{self.base_url}/predictions/{provider_job_id}/cancel", provider=self.name)


def upload_url_for(base_url: str) -> str:
    """The ``--upload-url`` to start Cog with, for this service at ``base_url``."""
    return f"{base_url.rstrip('/')}/api/v1/uploads/cog/{upload_token()}/"
