"""What the hosted providers share: HTTP errors mapped to transient or permanent."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from media.providers.base import ProviderPermanentError, ProviderTransientError

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def raise_for_status(response: httpx.Response, *, provider: str) -> None:
    """429 and 5xx are worth retrying; any other error status is final."""
    if response.is_success:
        return
    detail = response.text[:300]
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After")
        raise ProviderTransientError(
            f"{provider} is rate-limiting us: {detail}",
            code="provider_rate_limited",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if response.status_code >= 500:
        raise ProviderTransientError(f"{provider} failed ({response.status_code}): {detail}")
    code = {401: "provider_auth", 403: "provider_auth", 404: "provider_not_found"}.get(
        response.status_code, "provider_invalid_request"
    )
    raise ProviderPermanentError(f"{provider} refused the request ({response.status_code}): {detail}", code=code)


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


def download(client: httpx.Client, url: str, destination: Path, *, provider: str, **kwargs) -> Path:
    try:
        with client.stream("GET", url, follow_redirects=True, **kwargs) as response:
            if not response.is_success:
                response.read()  # the error body, for the message
                raise_for_status(response, provider=provider)
            with open(destination, "wb") as target:
                for chunk in response.iter_bytes(1024 * 1024):
                    target.write(chunk)
    except (httpx.TimeoutException, httpx.TransportError) as error:
        raise ProviderTransientError(f"{provider} download failed: {error}") from error
    return destination
