"""Calling outside APIs (render models, moderation models): errors mapped to transient or permanent,
and result downloads that cannot be aimed inside."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ProviderError(Exception):
    """``status`` is the HTTP status the provider answered with, None when it did not answer."""

    def __init__(self, message: str, *, code: str = "provider_error", status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class ProviderTransientError(ProviderError):
    """Worth retrying later: rate limits, 5xx, timeouts. ``retry_after``: seconds the provider asked us to wait."""

    def __init__(self, message: str, *, code: str = "provider_unavailable", status: int | None = None,
                 retry_after: float | None = None):  # fmt: skip
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class ProviderPermanentError(ProviderError):
    """Retrying will not help: refusals, invalid requests, bad credentials."""


RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def retry_delay(response: httpx.Response) -> float | None:
    """Seconds to wait before trying again, as the answer says, or None.

    A ``Retry-After`` header (RFC 9110 §10.2.3: seconds or an HTTP date) counts first. Google's APIs
    (the Gemini API among them) send none: their error body carries a ``google.rpc.RetryInfo`` detail
    whose ``retryDelay`` is a protobuf Duration in JSON, e.g. ``"37s"`` or ``"1.5s"`` (AIP-193,
    https://google.aip.dev/193#retryinfo; google/rpc/error_details.proto).
    """
    header = response.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    try:
        details = response.json()["error"]["details"]
        delay = next(d["retryDelay"] for d in details if d.get("@type") == RETRY_INFO)
        return max(0.0, float(delay.removesuffix("s")))
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return None


def raise_for_status(response: httpx.Response, *, provider: str) -> None:
    """429 and 5xx are worth retrying; any other error status is final."""
    if response.is_success:
        return
    detail = response.text[:300]
    status = response.status_code
    if status == 429:
        raise ProviderTransientError(f"{provider} is rate-limiting us: {detail}", code="provider_rate_limited",
                                     status=status, retry_after=retry_delay(response))  # fmt: skip
    if status >= 500:
        raise ProviderTransientError(f"{provider} failed ({status}): {detail}", status=status,
                                     retry_after=retry_delay(response))  # fmt: skip
    codes = {401: "provider_auth", 403: "provider_auth", 404: "provider_not_found"}
    code = codes.get(status, "provider_invalid_request")
    raise ProviderPermanentError(f"{provider} refused the request ({status}): {detail}", code=code, status=status)


def request(client: httpx.Client, method: str, url: str, *, provider: str, **kwargs) -> httpx.Response:
    try:
        response = client.request(method, url, **kwargs)
    except (httpx.TimeoutException, httpx.TransportError) as error:
        raise ProviderTransientError(f"{provider} did not answer: {error}") from error
    raise_for_status(response, provider=provider)
    return response


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port


def require_provider_host(url: str, *, base_url: str, extra_hosts: Iterable[str] = (), provider: str) -> None:
    """Refuse a result URL not served by the configured provider.

    A result URL comes back in a provider's answer (or a webhook); fetching it wherever it points
    would let whoever controls that answer make this server call internal addresses, with the
    provider's credentials attached. Allowed: the configured base URL's origin (scheme, host and
    port), and hosts named in ``extra_hosts`` (over HTTPS, any port).
    """
    origin, base = _origin(url), _origin(base_url)
    if origin is not None and (
        origin == base or (origin[0] == "https" and origin[1] in {h.lower() for h in extra_hosts})
    ):
        return
    host = url.split("/")[2] if origin is None and url.count("/") >= 2 else (origin[1] if origin else "")
    raise ProviderPermanentError(
        f"{provider} returned a result on a host that is not the provider's ({host or 'no host'}); not fetched.",
        code="provider_untrusted_result_url",
    )


MAX_REDIRECTS = 5
# What httpx sends on its own; any other header a provider's client carries is a credential.
_HTTPX_DEFAULT_HEADERS = frozenset({"accept", "accept-encoding", "connection", "user-agent"})


def _require_public_https(url: str, *, provider: str) -> None:
    """A redirect off the provider's origin may lead only to HTTPS on public addresses (its CDN).

    Checked by resolving the name, so a redirect to a name that points inside is refused too.
    """
    origin = _origin(url)
    addresses: set[str] = set()
    if origin is not None and origin[0] == "https":
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(origin[1], origin[2], type=socket.SOCK_STREAM)}
        except (OSError, UnicodeError):
            addresses = set()
    if addresses and all(ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses):
        return
    raise ProviderPermanentError(
        f"{provider} redirected its result to a host that is not public ({origin[1] if origin else 'no host'}); "
        "not fetched.",
        code="provider_untrusted_result_url",
    )


def download(client: httpx.Client, url: str, destination: Path, *, provider: str, **kwargs) -> Path:
    """Stream ``url`` (already checked with require_provider_host) to ``destination``.

    Redirects are followed by hand: a hop that leaves the provider's origin must go to HTTPS on a
    public address, and carries none of the provider's credentials (httpx itself strips only
    ``Authorization``; Veo's key travels in ``x-goog-api-key``).
    """
    provider_origin = _origin(url)
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            outbound = client.build_request("GET", url, **kwargs)
            if _origin(url) != provider_origin:
                _require_public_https(url, provider=provider)
                for name in [*client.headers, *kwargs.get("headers", {})]:
                    if name.lower() not in _HTTPX_DEFAULT_HEADERS:
                        outbound.headers.pop(name, None)
            response = client.send(outbound, stream=True)
            try:
                if response.is_redirect and response.next_request is not None:
                    url = str(response.next_request.url)
                    continue
                if not response.is_success:
                    response.read()  # the error body, for the message
                    raise_for_status(response, provider=provider)
                with open(destination, "wb") as target:
                    for chunk in response.iter_bytes(1024 * 1024):
                        target.write(chunk)
                return destination
            finally:
                response.close()
    except (httpx.TimeoutException, httpx.TransportError) as error:
        destination.unlink(missing_ok=True)
        raise ProviderTransientError(f"{provider} download failed: {error}") from error
    raise ProviderPermanentError(
        f"{provider} redirected its result too many times.", code="provider_too_many_redirects"
    )
