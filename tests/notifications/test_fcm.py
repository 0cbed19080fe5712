"""notifications/providers/fcm.py against the local FCM (tests/fake_fcm.py): the request FCM documents, and
each documented error mapped to what delivery does with it."""

import json

import pytest

from notifications.providers import get_provider
from notifications.providers.base import (
    PushConfigurationError,
    PushMessage,
    PushRejected,
    PushTokenDead,
    PushTransientError,
)
from notifications.providers.fcm import FcmProvider
from tests.fake_fcm import PROJECT, fcm_token
from tests.workers import free_port

MESSAGE = PushMessage(
    title="Likes on your video",
    body="maya and 41 others liked your video.",
    data={"notification_id": "7", "kind": "social.like", "deep_link": "/videos/3"},
    collapse_key="notification-7",
)


def test_a_push_is_an_http_v1_message_to_one_token_with_a_service_account_bearer(fcm):
    token = fcm_token()

    get_provider().send(token, MESSAGE)
    get_provider().send(token, MESSAGE)

    [first, second] = fcm.delivered
    assert first.message == {
        "token": token,
        "notification": {"title": "Likes on your video", "body": "maya and 41 others liked your video."},
        "data": {"notification_id": "7", "kind": "social.like", "deep_link": "/videos/3"},
        "android": {"priority": "HIGH", "ttl": "86400s", "collapse_key": "notification-7",
                    "notification": {"tag": "notification-7"}},
        "apns": {"headers": {"apns-collapse-id": "notification-7"}, "payload": {"aps": {"sound": "default"}}},
    }  # fmt: skip
    # One access token from the service-account flow, shared by both sends.
    assert fcm.tokens_issued and first.authorization == second.authorization == f"Bearer {fcm.tokens_issued[0]}"
    assert len(fcm.tokens_issued) == 1


def test_an_unregistered_token_is_dead(fcm):
    token = fcm_token()
    fcm.outcomes[token] = ["unregistered"]
    with pytest.raises(PushTokenDead) as error:
        get_provider().send(token, MESSAGE)
    assert error.value.code == "UNREGISTERED"


def test_a_malformed_token_is_dead_but_a_malformed_message_is_only_rejected(fcm):
    with pytest.raises(PushTokenDead) as dead:
        get_provider().send("not-a-registration-token-at-all-0123456789", MESSAGE)
    assert dead.value.code == "INVALID_ARGUMENT"

    bad_data = PushMessage(title="t", body="b", data={"count": 12})  # FCM takes strings only
    with pytest.raises(PushRejected) as rejected:
        get_provider().send(fcm_token(), bad_data)
    assert not isinstance(rejected.value, PushTokenDead)
    assert "TYPE_STRING" in str(rejected.value)


def test_quota_exceeded_is_transient_with_the_retry_after_fcm_asks_for(fcm):
    token = fcm_token()
    fcm.outcomes[token] = ["quota"]
    with pytest.raises(PushTransientError) as error:
        get_provider().send(token, MESSAGE)
    assert (error.value.code, error.value.retry_after) == ("QUOTA_EXCEEDED", 1.0)
    get_provider().send(token, MESSAGE)  # FCM takes it later
    assert len(fcm.delivered_to(token)) == 1


@pytest.mark.parametrize(("outcome", "code"), [("unavailable", "UNAVAILABLE"), ("internal", "INTERNAL")])
def test_fcm_errors_on_its_side_are_transient(fcm, outcome, code):
    token = fcm_token()
    fcm.outcomes[token] = [outcome]
    with pytest.raises(PushTransientError) as error:
        get_provider().send(token, MESSAGE)
    assert error.value.code == code and error.value.retry_after is None


def test_a_sender_id_mismatch_is_configuration_and_keeps_the_token(fcm):
    token = fcm_token()
    fcm.outcomes[token] = ["sender_mismatch"]
    with pytest.raises(PushConfigurationError) as error:
        get_provider().send(token, MESSAGE)
    assert not isinstance(error.value, PushTokenDead) and error.value.code == "SENDER_ID_MISMATCH"


def test_a_service_account_the_token_endpoint_refuses_is_configuration(fcm, tmp_path):
    other = tmp_path / "other.json"
    info = json.loads(fcm.service_account_file(tmp_path).read_text())
    info["client_email"] = "someone-else@remix-test.iam.gserviceaccount.com"
    other.write_text(json.dumps(info))
    provider = FcmProvider(project_id=PROJECT, credentials_file=str(other), base_url=fcm.url)
    with pytest.raises(PushConfigurationError):
        provider.send(fcm_token(), MESSAGE)
    assert fcm.delivered == []


def test_missing_settings_or_credentials_are_configuration(tmp_path):
    with pytest.raises(PushConfigurationError):
        FcmProvider(project_id="", credentials_file="")
    provider = FcmProvider(project_id=PROJECT, credentials_file=str(tmp_path / "missing.json"))
    with pytest.raises(PushConfigurationError):
        provider.send(fcm_token(), MESSAGE)


def test_the_token_endpoint_can_be_configured_apart_from_the_key_file(fcm, tmp_path):
    info = json.loads(fcm.service_account_file(tmp_path).read_text())
    info["token_uri"] = "https://oauth2.googleapis.com/token"
    (tmp_path / "google.json").write_text(json.dumps(info))
    provider = FcmProvider(project_id=PROJECT, credentials_file=str(tmp_path / "google.json"), base_url=fcm.url,
                           token_uri=f"{fcm.url}/token")  # fmt: skip
    provider.send(fcm_token(), MESSAGE)
    assert len(fcm.delivered) == 1


def test_fcm_out_of_reach_is_transient(fcm):
    provider = get_provider()
    provider.url = f"http://127.0.0.1:{free_port()}/v1/projects/{PROJECT}/messages:send"
    with pytest.raises(PushTransientError):
        provider.send(fcm_token(), MESSAGE)


def test_an_access_token_fcm_refuses_is_configuration_and_replaced_on_the_next_send(fcm):
    token = fcm_token()
    get_provider().send(token, MESSAGE)
    fcm.tokens_issued.clear()  # FCM no longer takes the token it issued (revoked)

    with pytest.raises(PushConfigurationError) as error:
        get_provider().send(token, MESSAGE)
    assert error.value.code == "UNAUTHENTICATED"
    get_provider().send(token, MESSAGE)

    assert len(fcm.delivered_to(token)) == 2 and len(fcm.tokens_issued) == 1
