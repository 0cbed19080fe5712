"""Firebase Cloud Messaging's HTTP v1 API, which reaches Android, and iOS through APNs.

One request per device: ``POST {base_url}/v1/projects/{project_id}/messages:send`` with a ``Message``
whose target is one registration token ("projects.messages.send",
https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send), authorised by an OAuth 2
access token of a service account with the ``firebase.messaging`` scope (google-auth's service-account
flow: a JWT signed with the account's key, exchanged at its ``token_uri``).

Errors come as a ``google.rpc.Status`` whose details carry an ``FcmError`` with the FCM ``errorCode``
("FCM error codes", https://firebase.google.com/docs/cloud-messaging/error-codes, and the ``ErrorCode``
enum, https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode). They map as that page advises:

- ``UNREGISTERED`` (404): the app instance is gone; remove the token → ``PushTokenDead``.
- ``INVALID_ARGUMENT`` (400) on the token ("The registration token is not a valid FCM registration
  token"): it never will be valid → ``PushTokenDead``. Any other INVALID_ARGUMENT (a data value, the size)
  is our message's fault → ``PushRejected``.
- ``QUOTA_EXCEEDED`` (429), ``UNAVAILABLE`` (503), ``INTERNAL`` (500): retry later, honouring
  ``Retry-After``, with exponential backoff → ``PushTransientError``.
- ``SENDER_ID_MISMATCH`` (403), ``THIRD_PARTY_AUTH_ERROR`` (401, the APNs certificate or web push key), and
  any other 401/403 (our service account): configuration → ``PushConfigurationError``; an access token FCM
  refused is dropped, so the next send asks for a new one. A sender-id
  mismatch names one token, but a project configured with the wrong credentials would see it for every
  token, and pruning every device on that is not a risk worth taking: the devices are kept.
"""

from __future__ import annotations

import logging
import threading

import httpx
from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.oauth2 import service_account

from backend.core.http import TIMEOUT, retry_delay
from notifications.providers.base import (
    PushConfigurationError,
    PushMessage,
    PushRejected,
    PushTokenDead,
    PushTransientError,
)

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
# How long a push is worth delivering to a phone that is off: a day-old "someone liked your video" is noise.
TTL_S = 24 * 3600

# Service-account credentials per (file, token endpoint): their access token lasts an hour and is shared
# by every send of the process (google-auth refreshes it shortly before it expires).
_credentials: dict[tuple[str, str], service_account.Credentials] = {}
_credentials_lock = threading.Lock()


class FcmProvider:
    name = "fcm"

    def __init__(self, *, project_id: str, credentials_file: str, base_url: str = "https://fcm.googleapis.com",
                 token_uri: str = ""):  # fmt: skip
        if not project_id or not credentials_file:
            raise PushConfigurationError("Set FCM_PROJECT_ID and FCM_CREDENTIALS_FILE.", code="fcm_not_configured")
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.credentials_file = credentials_file
        self.token_uri = token_uri

    def send(self, device_token: str, message: PushMessage) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            headers = {"Authorization": f"Bearer {self._access_token(client)}"}
            try:
                response = client.post(self.url, json=self.body(device_token, message), headers=headers)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                raise PushTransientError(f"FCM did not answer: {error}", code="fcm_unreachable") from error
        if response.status_code == 401:  # FCM did not take our access token: the next send asks for a new one
            self._service_account().token = None
        if not response.is_success:
            raise _error(response)

    @staticmethod
    def body(device_token: str, message: PushMessage) -> dict:
        """The ``Message`` resource (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages)."""
        android: dict = {"priority": "HIGH", "ttl": f"{TTL_S}s"}
        apns: dict = {"payload": {"aps": {"sound": "default"}}}
        if message.collapse_key:
            # The phone keeps one notification per key: an updated grouped item replaces the older one.
            android |= {"collapse_key": message.collapse_key, "notification": {"tag": message.collapse_key}}
            apns["headers"] = {"apns-collapse-id": message.collapse_key[:64]}  # APNs takes at most 64 bytes
        return {
            "message": {
                "token": device_token,
                "notification": {"title": message.title, "body": message.body},
                "data": message.data,
                "android": android,
                "apns": apns,
            }
        }

    def _access_token(self, client: httpx.Client) -> str:
        credentials = self._service_account()
        with _credentials_lock:
            if not credentials.valid:
                try:
                    credentials.refresh(_HttpxRequest(client))
                except auth_exceptions.TransportError as error:
                    raise PushTransientError(f"FCM's token endpoint: {error}", code="fcm_auth_unreachable") from error
                except auth_exceptions.RefreshError as error:
                    if getattr(error, "retryable", False):
                        raise PushTransientError(f"FCM access token: {error}", code="fcm_auth_unavailable") from error
                    raise PushConfigurationError(f"FCM access token refused: {error}", code="fcm_auth") from error
            return credentials.token

    def _service_account(self) -> service_account.Credentials:
        key = (self.credentials_file, self.token_uri)
        with _credentials_lock:
            if key not in _credentials:
                try:
                    credentials = service_account.Credentials.from_service_account_file(
                        self.credentials_file, scopes=[SCOPE]
                    )
                except (OSError, ValueError) as error:
                    raise PushConfigurationError(f"FCM_CREDENTIALS_FILE: {error}", code="fcm_credentials") from error
                _credentials[key] = credentials.with_token_uri(self.token_uri) if self.token_uri else credentials
            return _credentials[key]


def _error(response: httpx.Response) -> Exception:
    """The exception for FCM's error answer (see the module's docstring)."""
    try:
        error = response.json()["error"]
        details = error.get("details") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        error, details = {}, []
    fcm_code = next((d.get("errorCode") for d in details if isinstance(d, dict) and d.get("@type") == FCM_ERROR), None)
    code = fcm_code or error.get("status") or str(response.status_code)
    text = f"FCM {response.status_code} {code}: {str(error.get('message') or response.text)[:300]}"
    status = response.status_code
    if fcm_code == "UNREGISTERED" or status == 404:
        return PushTokenDead(text, code=code)
    if status == 400 and _names_the_token(error, details):
        return PushTokenDead(text, code=code)
    if status == 429 or status >= 500:
        return PushTransientError(text, code=code, retry_after=retry_delay(response))
    if status in (401, 403):
        return PushConfigurationError(text, code=code)
    return PushRejected(text, code=code)


def _names_the_token(error: dict, details: list) -> bool:
    """Whether a 400 is about the registration token (FCM answers for a malformed one with its message, and
    some answers name ``message.token`` in a ``google.rpc.BadRequest`` field violation)."""
    fields = {
        violation.get("field")
        for detail in details
        if isinstance(detail, dict) and detail.get("@type") == BAD_REQUEST
        for violation in detail.get("fieldViolations") or []
        if isinstance(violation, dict)
    }
    return "message.token" in fields or "registration token" in str(error.get("message", "")).lower()


class _HttpxRequest(transport.Request):
    """google-auth's transport over httpx (the HTTP client of every other outside API here)."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        try:
            response = self.client.request(method, url, content=body, headers=headers, timeout=timeout or TIMEOUT)
        except httpx.HTTPError as error:
            raise auth_exceptions.TransportError(error) from error
        return _HttpxResponse(response)


class _HttpxResponse(transport.Response):
    def __init__(self, response: httpx.Response):
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self):
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content
