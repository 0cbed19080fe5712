"""No outbound fetches from user input: uploads and provider answers cannot aim the server anywhere.

Each test is the attack: a local listener stands for an internal service, and the test proves that
nothing connects to it.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backend.core.http import ProviderPermanentError, ProviderTransientError
from media.providers.cog import CogProvider
from media.providers.veo import VeoProvider
from media.services.predictions import cog_webhook_receive
from tests.factories import UserFactory
from tests.fake_providers import FakeServer, veo_operation
from tests.media_files import make_clip

LOOKUP = "/api/v1/provenance/lookup"
MODEL = "veo-3.1-generate-preview"
OPERATION = f"models/{MODEL}/operations/op-1"


class Listener:
    """A TCP listener on a free local port that records every connection made to it."""

    def __init__(self):
        self.connections: list[bytes] = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.connections.append(connection.recv(4096))
                except OSError:
                    self.connections.append(b"")

    def close(self):
        time.sleep(0.3)  # a connection in flight is still counted
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def listener():
    spy = Listener()
    yield spy
    spy.close()


def jpeg_naming_remote_manifest(url: str) -> bytes:
    """A JPEG whose XMP says its C2PA manifest lives at ``url`` (how C2PA links remote manifests)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{url}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


@pytest.mark.django_db
def test_provenance_lookup_never_fetches_a_remote_manifest_named_by_the_upload(client_for, listener):
    image = jpeg_naming_remote_manifest(f"{listener.url}/internal/manifest.c2pa")
    upload = SimpleUploadedFile("photo.jpg", image, content_type="image/jpeg")
    response = client_for(UserFactory()).post(LOOKUP, {"file": upload}, format="multipart")
    listener.close()
    assert listener.connections == []
    assert response.status_code == 200
    assert response.data["made_here"] is False
    assert response.data["c2pa"] is None


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("outbound") / "result.mp4", seconds=1, audio=False)


@pytest.fixture
def provider_server(clip):
    fake = FakeServer(files={"/files/result.mp4": clip}).start()
    yield fake
    fake.stop()


def test_veo_result_on_another_host_is_refused_and_not_fetched(provider_server, listener, tmp_path):
    provider_server.script[f"GET /v1beta/{OPERATION}"] = [
        (200, veo_operation(OPERATION, done=True, uri=f"{listener.url}/latest/meta-data/"))
    ]
    veo = VeoProvider(api_key="secret-key", base_url=provider_server.url, model=MODEL)
    with pytest.raises(ProviderPermanentError) as refused:
        veo.fetch_result(OPERATION, tmp_path / "out.mp4")
    listener.close()
    assert refused.value.code == "provider_untrusted_result_url"
    assert listener.connections == []  # nothing fetched, and the API key never left for it
    assert not (tmp_path / "out.mp4").exists()


def test_veo_result_on_the_provider_host_is_downloaded(provider_server, tmp_path):
    provider_server.script[f"GET /v1beta/{OPERATION}"] = [
        (200, veo_operation(OPERATION, done=True, uri=f"{provider_server.url}/files/result.mp4"))
    ]
    veo = VeoProvider(api_key="secret-key", base_url=provider_server.url, model=MODEL)
    assert veo.fetch_result(OPERATION, tmp_path / "out.mp4").stat().st_size > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "output",
    [
        "{listener}/admin",
        "{listener_host}:6379/",  # same host as nothing configured, other port
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "http://[::1/broken",
    ],
)
def test_cog_result_outside_the_configured_origin_is_refused(provider_server, listener, tmp_path, output):
    output = output.format(listener=listener.url, listener_host="http://127.0.0.1")
    cog_webhook_receive(prediction_id="p1", payload={"status": "succeeded", "output": [output]})
    cog = CogProvider(base_url=provider_server.url, webhook_url="https://api.example/api/v1/webhooks/cog")
    with pytest.raises(ProviderPermanentError) as refused:
        cog.fetch_result("p1", tmp_path / "out.mp4")
    listener.close()
    assert refused.value.code == "provider_untrusted_result_url"
    assert listener.connections == []


@pytest.mark.django_db
def test_cog_result_on_the_configured_origin_or_a_declared_download_host(provider_server, tmp_path):
    output = f"{provider_server.url}/files/result.mp4"
    cog_webhook_receive(prediction_id="p1", payload={"status": "succeeded", "output": output})
    cog = CogProvider(base_url=provider_server.url, webhook_url="https://api.example/api/v1/webhooks/cog")
    assert cog.fetch_result("p1", tmp_path / "out.mp4").stat().st_size > 0

    # A declared CDN host is accepted over HTTPS only.
    from backend.core.http import require_provider_host

    require_provider_host(
        "https://cdn.example/x.mp4", base_url=cog.base_url, extra_hosts=["cdn.example"], provider="cog"
    )
    with pytest.raises(ProviderPermanentError):
        require_provider_host(
            "http://cdn.example/x.mp4", base_url=cog.base_url, extra_hosts=["cdn.example"], provider="cog"
        )


def test_a_redirect_from_the_provider_to_an_internal_address_is_not_followed(provider_server, listener, tmp_path):
    provider_server.script["GET /files/moved.mp4"] = [(302, None, {"Location": f"{listener.url}/latest/meta-data/"})]
    provider_server.script[f"GET /v1beta/{OPERATION}"] = [
        (200, veo_operation(OPERATION, done=True, uri=f"{provider_server.url}/files/moved.mp4"))
    ]
    veo = VeoProvider(api_key="secret-key", base_url=provider_server.url, model=MODEL)
    with pytest.raises(ProviderPermanentError) as refused:
        veo.fetch_result(OPERATION, tmp_path / "out.mp4")
    listener.close()
    assert refused.value.code == "provider_untrusted_result_url"
    assert listener.connections == []
    assert not (tmp_path / "out.mp4").exists()


def test_a_redirect_to_the_providers_cdn_carries_no_api_key(provider_server, listener, tmp_path, monkeypatch):
    # The listener stands for a public CDN host (the address check is what the test above covers).
    monkeypatch.setattr("backend.core.http._require_public_https", lambda url, *, provider: None)
    provider_server.script["GET /files/moved.mp4"] = [(302, None, {"Location": f"{listener.url}/signed/result.mp4"})]
    provider_server.script[f"GET /v1beta/{OPERATION}"] = [
        (200, veo_operation(OPERATION, done=True, uri=f"{provider_server.url}/files/moved.mp4"))
    ]
    veo = VeoProvider(api_key="secret-key", base_url=provider_server.url, model=MODEL)
    with pytest.raises(ProviderTransientError):  # the stand-in hangs up without answering
        veo.fetch_result(OPERATION, tmp_path / "out.mp4")
    listener.close()
    [request] = listener.connections
    assert request.startswith(b"GET /signed/result.mp4")
    assert b"secret-key" not in request and b"x-goog-api-key" not in request.lower()
    # The provider's own host did get the key.
    assert provider_server.requests[-1].headers.get("x-goog-api-key") == "secret-key"
