"""Languages over the API (issue 22): Accept-Language, else the account's language, picks the words of every
message; the codes never change; Content-Language says which language answered; mail and push follow the
language on the recipient's profile."""

from __future__ import annotations

import json
import pickle

import pytest
from django.conf import settings
from django.utils import translation

from backend.core import names
from backend.core.i18n import Translatable
from media.models import RenderJob
from media.services.lifecycle import render_jobs_recheck_cameo
from notifications import delivery
from notifications.models import Device, Kind, Notification
from tests.factories import CameoFactory, ProtectedLikenessFactory, RenderJobFactory, UserFactory
from tests.fake_fcm import fcm_token
from tests.notifications.conftest import fcm  # noqa: F401  (the fake FCM fixture)

pytestmark = pytest.mark.django_db

# What a phone sends for each language of ours, and what the answer says it speaks.
ACCEPT = {
    "en": "en-US,en;q=0.9",
    "es": "es-MX,es;q=0.9",
    "ja": "ja-JP",
    "ko": "ko-KR,ko;q=0.8,en;q=0.5",
    "zh-hans": "zh-CN,zh;q=0.9",
    "zh-hant": "zh-TW",
}


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_one_refusal_keeps_its_code_and_speaks_six_languages(client_for):
    user = UserFactory()
    client = client_for(user)
    answers = {}
    for language, header in ACCEPT.items():
        response = client.post(f"/api/v1/creators/{user.handle}/follow", HTTP_ACCEPT_LANGUAGE=header)
        error = _error(response, 400)
        assert error["code"] == "cannot_follow_self"
        assert response["Content-Language"] == language
        assert "Accept-Language" in response["Vary"]
        answers[language] = error["message"]

    assert answers == {
        "en": "You cannot follow yourself.",
        "es": "No puedes seguirte a ti mismo.",
        "ja": "自分をフォローすることはできません。",
        "ko": "자기 자신을 팔로우할 수 없습니다.",
        "zh-hans": "你不能关注自己。",
        "zh-hant": "你不能追蹤自己。",
    }


@pytest.mark.parametrize("language", list(ACCEPT))
def test_drf_own_refusals_come_through_in_each_language(api_client, language):
    """Not signed in: DRF's message (DRF's zh_Hant lacks it: ours fills the gap), the same code everywhere."""
    error = _error(api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE=ACCEPT[language]), 401)
    assert error["code"] == "not_authenticated"
    with translation.override(language):
        assert error["message"] == translation.gettext("Authentication credentials were not provided.")
    assert (error["message"] == "Authentication credentials were not provided.") == (language == "en")


@pytest.mark.parametrize("language", list(ACCEPT))
def test_a_bad_token_is_refused_in_each_language(api_client, language):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    error = _error(api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE=ACCEPT[language]), 401)
    assert error["code"] == "token_not_valid"
    with translation.override(language):
        assert error["message"] == translation.gettext("Given token not valid for any token type")
    assert (error["message"] == "Given token not valid for any token type") == (language == "en")


def test_validation_details_are_translated_and_keep_their_placeholders(client_for):
    client = client_for(UserFactory())
    en = _error(client.get("/api/v1/feed?kind=nope", HTTP_ACCEPT_LANGUAGE="en"), 400)
    ja = _error(client.get("/api/v1/feed?kind=nope", HTTP_ACCEPT_LANGUAGE="ja"), 400)
    assert en["code"] == ja["code"] == "invalid"
    assert en["message"] == "The input is not valid." and ja["message"] == "入力内容が正しくありません。"
    assert en["details"] == {"kind": ["Choose one of: for_you, following."]}
    assert ja["details"] == {"kind": ["次のいずれかを選んでください: for_you, following。"]}

    # A field message of DRF's own, in the envelope of ours.
    zh = _error(client.patch("/api/v1/me", {"language": "fr"}, HTTP_ACCEPT_LANGUAGE="zh-Hans"), 400)
    assert zh["message"] == "输入无效。"
    assert zh["details"]["language"] == ["“fr” 不是合法选项。"]


def test_a_language_we_do_not_offer_gets_english(api_client):
    response = api_client.get("/api/v1/videos/999999", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert _error(response, 404)["message"] == "No such video."
    assert response["Content-Language"] == "en"


def test_without_accept_language_a_signed_in_request_speaks_the_account_language(client_for, api_client):
    user = UserFactory(language="ko")
    client = client_for(user)

    response = client.get("/api/v1/videos/999999")
    assert _error(response, 404)["message"] == "해당 동영상이 없습니다."
    assert response["Content-Language"] == "ko"

    response = client.get("/api/v1/videos/999999", HTTP_ACCEPT_LANGUAGE="es")  # the header says otherwise
    assert _error(response, 404)["message"] == "No existe ese video."
    assert response["Content-Language"] == "es"

    response = api_client.get("/api/v1/videos/999999")  # nobody signed in, nothing asked: the default
    assert _error(response, 404)["message"] == "No such video."
    assert response["Content-Language"] == settings.LANGUAGE_CODE


def test_the_profile_language_is_one_we_offer(client_for):
    user = UserFactory()
    client = client_for(user)
    for unknown in ("fr", "xx", "zh", "zh-TW"):
        assert _error(client.patch("/api/v1/me", {"language": unknown}), 400)["details"].keys() == {"language"}

    assert client.patch("/api/v1/me", {"language": "zh-hant"}).json()["language"] == "zh-hant"
    user.refresh_from_db()
    assert user.language == "zh-hant"
    assert _error(client.get("/api/v1/videos/999999"), 404)["message"] == "沒有這部影片。"


def test_sign_up_keeps_the_language_it_was_asked_in(api_client):
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "email": "new@example.com",
            "handle": "newbie",
            "password": "a-long-passphrase-42",
            "birth_date": "1990-01-01",
        },
        HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.9",
    )
    assert response.status_code == 201, response.content
    assert response.json()["user"]["language"] == "zh-hant"


def test_no_language_stays_active_after_a_request(api_client):
    api_client.get("/api/v1/videos/999999", HTTP_ACCEPT_LANGUAGE="ja")
    assert translation.get_language() == settings.LANGUAGE_CODE


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "Remixのメールアドレスを確認してください"),
        ("es", "Verifica tu correo para Remix"),
        ("zh-hans", "验证你的 Remix 邮箱"),
        ("", "Verify your email for Remix"),
    ],
)
def test_mail_is_written_in_the_recipient_language(client_for, smtp_inbox, language, subject):
    user = UserFactory(email_verified_at=None, language=language)
    # The request's own language does not matter: the mail goes out later, from a worker, to its reader.
    assert client_for(user).post("/api/v1/auth/verify-email/resend", HTTP_ACCEPT_LANGUAGE="ko").status_code == 202
    [mail] = smtp_inbox.deliver()
    assert mail.subject.strip() == subject  # (a non-ASCII subject comes folded after "Subject:")
    assert f'<html lang="{language or "en"}">' in mail.html
    with translation.override(language or "en"):
        footer = translation.gettext(
            "You get this mail because of your Remix account. If you did not ask for it, you can ignore it."
        )
    assert footer in mail.html


def _liked(recipient, actor) -> Notification:
    return Notification.objects.create(
        recipient=recipient, kind=Kind.LIKE, group_key="social.like:video:3", actor_ids=[actor.id], actor_count=1,
        target_type="video", target_id="3", deep_link="/videos/3",
    )  # fmt: skip


def test_push_is_written_in_the_recipient_language(fcm):  # noqa: F811
    maya = UserFactory(handle="maya")
    korean = UserFactory(language="ko")
    korean_phone = Device.objects.create(user=korean, token=fcm_token(), platform="ios", locale="en-US")
    unset = UserFactory(language="")
    taiwan_phone = Device.objects.create(user=unset, token=fcm_token(), platform="android", locale="zh-TW")

    delivery.push_send(notification_id=_liked(korean, maya).id)
    delivery.push_send(notification_id=_liked(unset, maya).id)

    [to_korean] = fcm.delivered_to(korean_phone.token)  # the profile's language, not the phone's
    assert to_korean["notification"] == {"title": "내 동영상의 좋아요", "body": "maya 님이 내 동영상을 좋아합니다."}
    [to_taiwan] = fcm.delivered_to(taiwan_phone.token)  # no language chosen: the phone's, as we offer it
    assert to_taiwan["notification"] == {"title": "你的影片收到的讚", "body": "maya 說你的影片讚。"}


def test_a_worker_message_on_a_render_is_read_in_the_reader_language(client_for):
    """Workers store English (no request, no language); the API reads a catalogue message in the reader's."""
    owner = UserFactory()
    job = RenderJobFactory(requester=owner, status="failed", error_code="worker_lost",
                           error_message="The render worker stopped.")  # fmt: skip
    client = client_for(owner)
    error = client.get(f"/api/v1/renders/{job.id}", HTTP_ACCEPT_LANGUAGE="ja").json()["error"]
    assert error == {"code": "worker_lost", "message": "レンダリング処理が停止しました。"}
    assert client.get(f"/api/v1/renders/{job.id}").json()["error"]["message"] == "The render worker stopped."


def test_a_refusal_stored_on_a_render_is_read_in_each_reader_language(client_for):
    """A blocked render keeps its refusal as a catalogue entry and its arguments, not as the text of the
    language it was asked in: read later, and replayed, it speaks the reader's language, name included."""
    ProtectedLikenessFactory(name="Taylor Swift")
    requester = UserFactory()
    client = client_for(requester)
    body = {"prompt": "taylor swift skating", "duration_s": 5}
    asked = client.post("/api/v1/renders", body, format="json", HTTP_IDEMPOTENCY_KEY="k", HTTP_ACCEPT_LANGUAGE="ja")
    assert _error(asked, 403)["message"] == "「Taylor Swift」は保護された肖像のため、プロンプトに使用できません。"
    job = RenderJob.objects.get()

    read = client.get(f"/api/v1/renders/{job.id}", HTTP_ACCEPT_LANGUAGE="es").json()["error"]
    assert read == {
        "code": "protected_likeness",
        "message": "“Taylor Swift” es una imagen protegida y no se puede usar en el campo prompt.",
    }
    replayed = client.post("/api/v1/renders", body, format="json", HTTP_IDEMPOTENCY_KEY="k", HTTP_ACCEPT_LANGUAGE="en")
    in_english = "“Taylor Swift” is a protected likeness and cannot be used in the prompt."
    assert _error(replayed, 403)["message"] == in_english
    assert job.error_message == in_english  # what moderators read, whatever language the request was in


def test_a_cancellation_written_by_a_worker_is_read_in_the_reader_language(client_for):
    owner, requester = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience="only_me")
    job = RenderJobFactory(requester=requester, status="queued")
    job.cameos.add(cameo)

    assert render_jobs_recheck_cameo(cameo_id=cameo.id) == 1  # as a worker runs it: no request, no language

    read = client_for(requester).get(f"/api/v1/renders/{job.id}", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert (read["status"], read["error"]) == (
        "cancelled",
        {"code": "consent_withdrawn", "message": f"카메오 {cameo.id}의 소유자가 더 이상 사용을 허용하지 않습니다."},
    )


def test_a_translatable_message_survives_json_and_pickle_whole():
    with translation.override("en"):
        message = Translatable("The %(field)s uses a blocked term.", field=names.field_label("caption"))
    assert message == "The caption uses a blocked term."
    stored = Translatable.from_json(json.loads(json.dumps(message.as_json())))
    for kept in (stored, pickle.loads(pickle.dumps(message))):
        with translation.override("zh-hant"):
            assert kept.render() == "說明文字包含遭封鎖的詞語。"
        assert kept.as_json() == message.as_json()
