"""Signing up and in, end to end: every mail is read from a real SMTP server and its link followed."""

import pytest
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from backend.core.permissions import VERIFIED_EMAIL_REQUIRED
from backend.creators.models import User
from backend.urls import api_v1
from tests.factories import CameoFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-password-2026"


def _register(api_client, email="new@example.com", handle="newbie", **headers):
    body = {"email": email, "password": "a-long-password-2026", "handle": handle}
    return api_client.post("/api/v1/auth/register", body, **headers)


def _sign_in(api_client, email, password):
    return api_client.post("/api/v1/auth/token", {"email": email, "password": password})


def _refresh(api_client, refresh):
    return api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh})


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]["code"]


# --- Email verification ------------------------------------------------------


def test_sign_up_mails_a_link_that_verifies_the_address_once(api_client, client_for, smtp_inbox):
    response = _register(api_client)
    assert response.status_code == 201 and response.json()["user"]["email_verified"] is False

    [mail] = smtp_inbox.deliver()
    assert mail.to == ["new@example.com"]
    assert mail.subject == "Verify your email for Remix"
    assert "@newbie" in mail.text and mail.link in mail.text
    assert mail.link.replace("&", "&amp;") in mail.html and "@newbie" in mail.html
    assert mail.link.startswith("http://localhost:8000/verify-email?token=")

    token = mail.link_param("token")
    assert api_client.post("/api/v1/auth/verify-email", {"token": token}).status_code == 204
    user = User.objects.get(email="new@example.com")
    assert user.email_verified_at is not None
    assert client_for(user).get("/api/v1/me").json()["email_verified"] is True

    # Used twice: refused, and nothing changes.
    assert _error(api_client.post("/api/v1/auth/verify-email", {"token": token}), 400) == "token_invalid"
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_bad_and_expired_verification_tokens_change_nothing(api_client, smtp_inbox, settings):
    _register(api_client)
    token = smtp_inbox.deliver()[0].link_param("token")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-token", token + "x"):
        assert _error(api_client.post("/api/v1/auth/verify-email", {"token": bad}), 400) == "token_invalid"
    settings.EMAIL_VERIFY_MAX_AGE_S = -1
    assert _error(api_client.post("/api/v1/auth/verify-email", {"token": token}), 400) == "token_expired"
    assert User.objects.get(email="new@example.com").email_verified_at is None


def test_a_token_for_another_purpose_is_invalid(api_client, smtp_inbox, client_for):
    # An email-change token (another salt) does not verify an address.
    user = UserFactory(email_verified_at=None)
    client_for(user).post("/api/v1/auth/email", {"new_email": "other@example.com", "password": "correct-horse-battery"})
    smtp_inbox.deliver()
    [change] = smtp_inbox.to("other@example.com")
    response = api_client.post("/api/v1/auth/verify-email", {"token": change.link_param("token")})
    assert _error(response, 400) == "token_invalid"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_mails_are_written_in_the_language_of_the_sign_up(api_client, smtp_inbox):
    _register(api_client, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert User.objects.get(email="new@example.com").language == "es"
    [mail] = smtp_inbox.deliver()
    assert '<html lang="es">' in mail.html


def test_the_language_of_mails_can_be_changed_on_the_profile(client_for, smtp_inbox):
    user = UserFactory(email_verified_at=None)
    client = client_for(user)
    assert client.patch("/api/v1/me", {"language": "xx"}).status_code == 400
    assert client.patch("/api/v1/me", {"language": "ja"}).json()["language"] == "ja"
    client.post("/api/v1/auth/verify-email/resend")
    [mail] = smtp_inbox.deliver()
    assert '<html lang="ja">' in mail.html


def test_resend_mails_a_new_link_only_while_unverified(client_for, smtp_inbox):
    unverified = UserFactory(email_verified_at=None)
    assert client_for(unverified).post("/api/v1/auth/verify-email/resend").status_code == 202
    [mail] = smtp_inbox.deliver()
    assert mail.to == [unverified.email] and "verify-email?token=" in mail.link

    verified = UserFactory()
    assert client_for(verified).post("/api/v1/auth/verify-email/resend").status_code == 202
    assert smtp_inbox.deliver() == []


def test_unverified_accounts_browse_but_may_not_publish_create_cameos_or_ask_for_them(client_for):
    unverified = UserFactory(email_verified_at=None)
    draft = VideoFactory(owner=unverified, status="draft", published_at=None)
    cameo = CameoFactory(audience="approved")
    client = client_for(unverified)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/feed").status_code == 200

    for path in (f"/api/v1/videos/{draft.id}/publish", "/api/v1/cameos", f"/api/v1/cameos/{cameo.id}/grants"):
        response = client.post(path, {})
        assert _error(response, 403) == "email_unverified", path
    draft.refresh_from_db()
    assert draft.status == "draft"

    # Once verified, the same requests are let through.
    unverified.email_verified_at = draft.created_at
    unverified.save(update_fields=["email_verified_at"])
    assert client.post(f"/api/v1/videos/{draft.id}/publish", {}).status_code == 200
    assert client.post(f"/api/v1/cameos/{cameo.id}/grants", {}).status_code == 201


def test_every_route_that_needs_a_verified_email_exists():
    # A renamed route would silently drop out of the rule.
    assert VERIFIED_EMAIL_REQUIRED.keys() <= {pattern.name for pattern in api_v1}


# --- Sign-up with a taken address ----------------------------------------------


def test_sign_up_with_a_taken_address_mails_its_owner_instead(api_client, smtp_inbox):
    owner = UserFactory(email="owner@example.com", handle="theowner")
    taken = _register(api_client, email="Owner@Example.com", handle="probe1")
    free = _register(api_client, email="free@example.com", handle="probe2")
    assert taken.status_code == free.status_code == 201
    assert taken.json().keys() == free.json().keys() and taken.json()["user"].keys() == free.json()["user"].keys()
    assert taken.json()["user"]["email_verified"] is free.json()["user"]["email_verified"] is False

    mails = smtp_inbox.deliver()
    assert sorted(mail.to[0] for mail in mails) == ["free@example.com", "owner@example.com"]
    [notice] = smtp_inbox.to(owner.email)
    assert notice.subject == "Someone tried to sign up with your address"
    assert "@theowner" in notice.text and "http" not in notice.text  # no link to follow
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1


# --- Logout ----------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, user):
    pair = _sign_in(api_client, user.email, "correct-horse-battery").json()
    assert api_client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert _error(_refresh(api_client, pair["refresh"]), 401) == "token_not_valid"
    # Twice, or a token that is not one: refused.
    assert _error(api_client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}), 400) == "token_invalid"
    assert _error(api_client.post("/api/v1/auth/logout", {"refresh": "nope"}), 400) == "token_invalid"


def test_logout_everywhere_ends_every_session(api_client, user):
    phone = _sign_in(api_client, user.email, "correct-horse-battery").json()
    laptop = _sign_in(api_client, user.email, "correct-horse-battery").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access']}")
    assert api_client.post("/api/v1/auth/logout-everywhere").status_code == 204
    api_client.credentials()
    for pair in (phone, laptop):
        assert _refresh(api_client, pair["refresh"]).status_code == 401
    # Signing in again works.
    assert (
        _refresh(api_client, _sign_in(api_client, user.email, "correct-horse-battery").json()["refresh"]).status_code
        == 200
    )


def test_logout_everywhere_needs_a_signed_in_caller(api_client):
    assert api_client.post("/api/v1/auth/logout-everywhere").status_code == 401


# --- Password change ------------------------------------------------------------


def test_password_change_ends_other_sessions_and_answers_a_new_pair(api_client, client_for, user, smtp_inbox):
    other = _sign_in(api_client, user.email, "correct-horse-battery").json()
    client = client_for(user)
    wrong = client.post("/api/v1/auth/password", {"old_password": "guess", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["details"]
    weak = client.post("/api/v1/auth/password", {"old_password": "correct-horse-battery", "new_password": "1234"})
    assert weak.status_code == 400 and "new_password" in weak.json()["error"]["details"]
    assert _refresh(api_client, other["refresh"]).status_code == 200  # failed attempts change nothing

    response = client.post(
        "/api/v1/auth/password", {"old_password": "correct-horse-battery", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert _refresh(api_client, response.json()["refresh"]).status_code == 200
    assert _sign_in(api_client, user.email, "correct-horse-battery").status_code == 401
    assert _sign_in(api_client, user.email, NEW_PASSWORD).status_code == 200
    [notice] = smtp_inbox.deliver()
    assert notice.to == [user.email] and notice.subject == "Your Remix password was changed"


def test_password_change_blacklists_the_sessions_from_before(api_client, client_for, user):
    before = _sign_in(api_client, user.email, "correct-horse-battery").json()
    client_for(user).post(
        "/api/v1/auth/password", {"old_password": "correct-horse-battery", "new_password": NEW_PASSWORD}
    )
    assert _refresh(api_client, before["refresh"]).status_code == 401


# --- Password reset --------------------------------------------------------------


def test_password_reset_by_mail_works_once(api_client, user, smtp_inbox):
    before = _sign_in(api_client, user.email, "correct-horse-battery").json()
    assert api_client.post("/api/v1/auth/password/reset", {"email": user.email.upper()}).status_code == 202
    [mail] = smtp_inbox.deliver()
    assert mail.to == [user.email] and mail.subject == "Reset your Remix password"
    assert mail.link.startswith("http://localhost:8000/reset-password?")
    body = {"uid": mail.link_param("uid"), "token": mail.link_param("token"), "new_password": NEW_PASSWORD}

    weak = api_client.post("/api/v1/auth/password/reset/confirm", {**body, "new_password": "1234"})
    assert weak.status_code == 400 and "new_password" in weak.json()["error"]["details"]
    assert api_client.post("/api/v1/auth/password/reset/confirm", body).status_code == 204  # the weak try spent nothing
    assert _sign_in(api_client, user.email, NEW_PASSWORD).status_code == 200
    assert _refresh(api_client, before["refresh"]).status_code == 401  # sessions from before ended

    replay = api_client.post("/api/v1/auth/password/reset/confirm", {**body, "new_password": "yet-another-password-77"})
    assert _error(replay, 400) == "token_invalid"
    assert _sign_in(api_client, user.email, NEW_PASSWORD).status_code == 200
    assert [m.subject for m in smtp_inbox.deliver()] == ["Your Remix password was changed"]


def test_password_reset_answers_the_same_for_an_unknown_address(api_client, smtp_inbox):
    response = api_client.post("/api/v1/auth/password/reset", {"email": "nobody@example.com"})
    assert response.status_code == 202 and response.content == b""
    assert smtp_inbox.deliver() == []


def test_password_reset_refuses_bad_expired_and_others_tokens(api_client, user, smtp_inbox, settings):
    other = UserFactory()
    api_client.post("/api/v1/auth/password/reset", {"email": user.email})
    [mail] = smtp_inbox.deliver()
    uid, token = mail.link_param("uid"), mail.link_param("token")
    cases = {
        "another user's": {"uid": urlsafe_base64_encode(force_bytes(other.pk)), "token": token},
        "tampered": {"uid": uid, "token": token[:-1] + ("0" if token[-1] != "0" else "1")},
        "garbage": {"uid": "!!", "token": "x"},
    }
    for case, pair in cases.items():
        response = api_client.post("/api/v1/auth/password/reset/confirm", {**pair, "new_password": NEW_PASSWORD})
        assert _error(response, 400) == "token_invalid", case
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = api_client.post(
        "/api/v1/auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )
    assert _error(response, 400) == "token_expired"
    for account in (user, other):
        account.refresh_from_db()
        assert account.check_password("correct-horse-battery")


def test_signing_in_spends_a_reset_link(api_client, user, smtp_inbox):
    api_client.post("/api/v1/auth/password/reset", {"email": user.email})
    [mail] = smtp_inbox.deliver()
    _sign_in(api_client, user.email, "correct-horse-battery")  # last_login changes
    body = {"uid": mail.link_param("uid"), "token": mail.link_param("token"), "new_password": NEW_PASSWORD}
    assert _error(api_client.post("/api/v1/auth/password/reset/confirm", body), 400) == "token_invalid"


# --- Email change ----------------------------------------------------------------


def test_email_change_is_confirmed_at_the_new_address_and_noticed_at_the_old(api_client, client_for, smtp_inbox):
    user = UserFactory(email="old@example.com", handle="changer")
    client = client_for(user)
    wrong = client.post("/api/v1/auth/email", {"new_email": "new@example.com", "password": "guess"})
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["details"]
    assert smtp_inbox.deliver() == []

    response = client.post("/api/v1/auth/email", {"new_email": "New@Example.com", "password": "correct-horse-battery"})
    assert response.status_code == 202
    smtp_inbox.deliver()
    [notice] = smtp_inbox.to("old@example.com")
    assert "new@example.com" in notice.text and "http" not in notice.text
    [confirm] = smtp_inbox.to("new@example.com")
    assert confirm.link.startswith("http://localhost:8000/confirm-email?token=")
    user.refresh_from_db()
    assert user.email == "old@example.com"  # nothing changes before the link is followed

    token = confirm.link_param("token")
    assert api_client.post("/api/v1/auth/email/confirm", {"token": token}).status_code == 204
    user.refresh_from_db()
    assert user.email == "new@example.com" and user.email_verified_at is not None
    assert _sign_in(api_client, "new@example.com", "correct-horse-battery").status_code == 200
    assert _sign_in(api_client, "old@example.com", "correct-horse-battery").status_code == 401
    assert _error(api_client.post("/api/v1/auth/email/confirm", {"token": token}), 400) == "token_invalid"


def test_email_change_to_a_taken_address_answers_the_same_and_changes_nothing(client_for, api_client, smtp_inbox):
    user = UserFactory(email="mine@example.com")
    UserFactory(email="taken@example.com", handle="taker")
    free = client_for(user).post(
        "/api/v1/auth/email", {"new_email": "free@example.com", "password": "correct-horse-battery"}
    )
    taken = client_for(user).post(
        "/api/v1/auth/email", {"new_email": "taken@example.com", "password": "correct-horse-battery"}
    )
    assert free.status_code == taken.status_code == 202 and free.content == taken.content
    smtp_inbox.deliver()
    [told] = smtp_inbox.to("taken@example.com")
    assert "@taker" in told.text and "http" not in told.text  # its owner is told; no link to take it
    user.refresh_from_db()
    assert user.email == "mine@example.com"


def test_an_email_change_link_dies_when_the_address_is_taken_meanwhile(client_for, api_client, smtp_inbox, settings):
    user = UserFactory(email="mine@example.com")
    client_for(user).post(
        "/api/v1/auth/email", {"new_email": "wanted@example.com", "password": "correct-horse-battery"}
    )
    smtp_inbox.deliver()
    token = smtp_inbox.to("wanted@example.com")[0].link_param("token")
    UserFactory(email="wanted@example.com")
    assert _error(api_client.post("/api/v1/auth/email/confirm", {"token": token}), 400) == "token_invalid"
    settings.EMAIL_CHANGE_MAX_AGE_S = -1
    assert _error(api_client.post("/api/v1/auth/email/confirm", {"token": token}), 400) == "token_expired"
    user.refresh_from_db()
    assert user.email == "mine@example.com"
