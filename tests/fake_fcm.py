"""A local Firebase Cloud Messaging: the HTTP v1 send endpoint and the OAuth token endpoint of Google's
service-account flow, replaying the documented request and response shapes.

- ``POST /token``: the JWT-bearer grant google-auth sends (RFC 7523): the assertion must be signed by the
  test service account's key, issued by its email, for the ``firebase.messaging`` scope; answers an access
  token as Google's endpoint does.
- ``POST /v1/projects/{project}/messages:send`` ("projects.messages.send",
  https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send): needs an access token it
  issued; refuses, as FCM does, a message without exactly one target, ``data`` values that are not strings
  (FCM's example: "Invalid value at 'message.data[0].value' (TYPE_STRING), 12"), a malformed registration
  token, and unknown fields. Otherwise it answers by the token's script (``outcomes``), else 200 with the
  message's name. Errors are ``google.rpc.Status`` bodies with an ``FcmError`` detail, as in "FCM error
  codes" (https://firebase.google.com/docs/cloud-messaging/error-codes).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from tests.fake_http import Answer, LocalHttpServer
from tests.fake_providers import google_error

PROJECT = "remix-test"
CLIENT_EMAIL = f"push@{PROJECT}.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
MESSAGE_FIELDS = {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", "token", "topic",
                  "condition"}  # fmt: skip
TARGETS = ("token", "topic", "condition")
_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def fcm_token() -> str:
    """A token of the shape FCM issues: an instance id, a colon, and an ``APA91b`` registration."""
    pick = lambda n: "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(n))  # noqa: E731
    return f"{pick(22)}:APA91b{pick(134)}"


def _valid_token(token: str) -> bool:
    instance, _, registration = token.partition(":")
    return (
        len(instance) >= 11
        and registration.startswith("APA91b")
        and len(registration) >= 100
        and all(c in _TOKEN_ALPHABET for c in instance + registration)
    )


def fcm_error(status: int, rpc_status: str, message: str, error_code: str | None) -> dict:
    details = [{"@type": FCM_ERROR, "errorCode": error_code}] if error_code else []
    return google_error(status, rpc_status, message, *details)


# What FCM answers for each scripted outcome: (status, body, headers).
OUTCOMES = {
    "unregistered": (404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"), {}),
    "quota": (429, fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for the message target.", "QUOTA_EXCEEDED"),
              {"Retry-After": "1"}),
    "unavailable": (503, fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"), {}),
    "internal": (500, fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"), {}),
    "sender_mismatch": (403, fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"), {}),
}  # fmt: skip


@dataclass
class Delivery:
    token: str
    message: dict
    authorization: str


@dataclass
class FakeFcm(LocalHttpServer):
    # Per registration token, what the next sends to it are answered with (keys of OUTCOMES); then 200.
    outcomes: dict[str, list[str]] = field(default_factory=dict)
    delivered: list[Delivery] = field(default_factory=list)
    # Every registration token a valid send named, whatever the answer (the scripted errors included).
    attempts: list[str] = field(default_factory=list)
    refused: list[tuple[int, dict]] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)
    key_pem: str = ""

    def start(self) -> FakeFcm:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self._public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._lock = threading.Lock()
        return super().start()

    def respond(self, method: str, path: str, headers, raw: bytes) -> Answer:
        if path == "/token":
            status, body, extra = self._token(raw)
        else:
            status, body, extra = self._send(path, headers.get("Authorization", ""), raw)
        return Answer.json(status, body, extra, content_type="application/json; charset=UTF-8")

    def service_account_file(self, folder: Path) -> Path:
        """A service-account key file as the Firebase console downloads it, whose token endpoint is this fake."""
        path = folder / "fcm-service-account.json"
        path.write_text(json.dumps({
            "type": "service_account", "project_id": PROJECT, "private_key_id": "test-key-1",
            "private_key": self.key_pem, "client_email": CLIENT_EMAIL, "client_id": "100000000000000000001",
            "token_uri": f"{self.url}/token",
        }))  # fmt: skip
        return path

    def delivered_to(self, token: str) -> list[dict]:
        return [delivery.message for delivery in self.delivered if delivery.token == token]

    def _token(self, raw: bytes) -> tuple[int, dict, dict]:
        form = {name: values[0] for name, values in parse_qs(raw.decode()).items()}
        try:
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                raise ValueError("unsupported grant_type")
            claims = jwt.decode(form.get("assertion", ""), certs=self._public_pem,
                                audience="https://oauth2.googleapis.com/token")  # fmt: skip
            if claims.get("iss") != CLIENT_EMAIL or SCOPE not in claims.get("scope", "").split():
                raise ValueError("wrong issuer or scope")
        except ValueError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}, {}
        access_token = f"ya29.fake-{secrets.token_urlsafe(16)}"
        with self._lock:
            self.tokens_issued.append(access_token)
        return 200, {"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"}, {}

    def _send(self, path: str, authorization: str, raw: bytes) -> tuple[int, dict, dict]:
        if path != f"/v1/projects/{PROJECT}/messages:send":
            return 404, google_error(404, "NOT_FOUND", "Requested entity was not found."), {}
        if authorization.removeprefix("Bearer ") not in self.tokens_issued:
            return 401, google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), {}
        try:
            message = json.loads(raw)["message"]
        except (ValueError, KeyError, TypeError):
            return 400, fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", None), {}
        refusal = self._refusal(message)
        if refusal is not None:
            self.refused.append(refusal)
            return refusal[0], refusal[1], {}
        token = message["token"]
        with self._lock:
            script = self.outcomes.get(token) or []
            outcome = script.pop(0) if script else None
            self.attempts.append(token)
            if outcome is None:
                self.delivered.append(Delivery(token, message, authorization))
        if outcome is not None:
            return OUTCOMES[outcome]
        return 200, {"name": f"projects/{PROJECT}/messages/0:{secrets.randbelow(10**16)}%{secrets.token_hex(8)}"}, {}

    def _refusal(self, message: dict) -> tuple[int, dict] | None:
        unknown = sorted(set(message) - MESSAGE_FIELDS)
        if unknown:
            return 400, fcm_error(400, "INVALID_ARGUMENT", f'Invalid JSON payload received. Unknown name "{unknown[0]}"'
                                  " at 'message': Cannot find field.", None)  # fmt: skip
        if sum(target in message for target in TARGETS) != 1:
            return 400, fcm_error(400, "INVALID_ARGUMENT", "Recipient of the message is not set.", "INVALID_ARGUMENT")
        for index, value in enumerate((message.get("data") or {}).values()):
            if not isinstance(value, str):
                text = f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {json.dumps(value)}"
                return 400, fcm_error(400, "INVALID_ARGUMENT", text, None)
        if "token" in message and not _valid_token(message["token"]):
            text = "The registration token is not a valid FCM registration token"
            return 400, fcm_error(400, "INVALID_ARGUMENT", text, "INVALID_ARGUMENT")
        return None


def fake_fcm_as_provider(settings, folder: Path) -> tuple[FakeFcm, dict[str, str]]:
    """Start a FakeFcm and make FCM this process's push provider (pytest-django's ``settings``); returns the
    fake and the environment that points a worker at it. The caller stops it."""
    fake = FakeFcm().start()
    credentials = fake.service_account_file(folder)
    settings.PUSH_PROVIDER = "fcm"
    settings.PUSH_PROVIDER_OPTIONS = {
        "fcm": {"project_id": PROJECT, "credentials_file": str(credentials), "base_url": fake.url, "token_uri": ""}
    }
    env = {"PUSH_PROVIDER": "fcm", "FCM_PROJECT_ID": PROJECT, "FCM_CREDENTIALS_FILE": str(credentials),
           "FCM_BASE_URL": fake.url}  # fmt: skip
    return fake, env
