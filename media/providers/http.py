"""What the hosted providers share: HTTP errors mapped to transient or permanent."""

from __future__ import annotations

from pathlib import Path

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
