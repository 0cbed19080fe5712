"""POST /api/v1/devices and DELETE /api/v1/devices/{token}: a person's phones, registered, moved and forgotten."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.devices import MAX_DEVICES_PER_USER
from notifications.models import Device
from tests.factories import UserFactory
from tests.fake_fcm import fcm_token

pytestmark = pytest.mark.django_db
DEVICES = "/api/v1/devices"


def phone(**fields) -> dict:
    return {"token": fcm_token(), "platform": "ios", "app_version": "2.3.0", "locale": "pt-BR",
            "time_zone": "America/Sao_Paulo", **fields}  # fmt: skip


class TestRegister:
    def test_anonymous_is_refused(self, api_client):
        assert api_client.post(DEVICES, phone(), format="json").status_code == 401
        assert not Device.objects.exists()

    def test_a_new_device_then_the_same_one_refreshed(self, client_for):
        user = UserFactory()
        body = phone()
        first = client_for(user).post(DEVICES, body, format="json")
        assert first.status_code == 201
        assert {k: first.json()[k] for k in body} == body

        again = client_for(user).post(DEVICES, {**body, "app_version": "2.4.0", "time_zone": "Europe/Lisbon"},
                                      format="json")  # fmt: skip
        assert again.status_code == 200
        [device] = Device.objects.all()
        assert (device.user, device.app_version, device.time_zone) == (user, "2.4.0", "Europe/Lisbon")
        assert device.last_seen_at > device.created_at

    def test_a_token_signed_in_as_someone_else_moves_to_them(self, client_for):
        before, after = UserFactory(), UserFactory()
        body = phone()
        client_for(before).post(DEVICES, body, format="json")
        assert client_for(after).post(DEVICES, body, format="json").status_code == 200
        assert list(Device.objects.values_list("user", flat=True)) == [after.id]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("time_zone", "Mars/Olympus_Mons"), ("time_zone", "../../etc/passwd"), ("token", "short"),
         ("token", "has spaces in it but is long enough to pass the length"), ("platform", "blackberry"),
         ("locale", "not a locale")],
    )  # fmt: skip
    def test_bad_fields_are_refused(self, client_for, field, value):
        response = client_for(UserFactory()).post(DEVICES, phone(**{field: value}), format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["details"]
        assert not Device.objects.exists()

    def test_only_token_and_platform_are_required(self, client_for):
        response = client_for(UserFactory()).post(DEVICES, {"token": fcm_token(), "platform": "android"}, format="json")
        assert response.status_code == 201 and response.json()["time_zone"] == ""

    def test_the_devices_not_seen_the_longest_are_forgotten_past_the_cap(self, client_for):
        user = UserFactory()
        old = Device.objects.create(user=user, token=fcm_token(), platform="android",
                                    last_seen_at=timezone.now() - timedelta(days=90))  # fmt: skip
        for _ in range(MAX_DEVICES_PER_USER):
            client_for(user).post(DEVICES, phone(), format="json")
        assert Device.objects.filter(user=user).count() == MAX_DEVICES_PER_USER
        assert not Device.objects.filter(id=old.id).exists()

    def test_a_suspended_account_still_registers_its_phone(self, client_for):
        user = UserFactory(suspended_until=timezone.now() + timedelta(days=1))
        assert client_for(user).post(DEVICES, phone(), format="json").status_code == 201


class TestDelete:
    def test_anonymous_is_refused(self, api_client):
        device = Device.objects.create(user=UserFactory(), token=fcm_token(), platform="android")
        assert api_client.delete(f"{DEVICES}/{device.token}").status_code == 401
        assert Device.objects.filter(id=device.id).exists()

    def test_someone_else_s_device_is_not_found_like_an_unknown_one(self, client_for):
        device = Device.objects.create(user=UserFactory(), token=fcm_token(), platform="android")
        client = client_for(UserFactory())
        for token in (device.token, fcm_token()):
            response = client.delete(f"{DEVICES}/{token}")
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert Device.objects.filter(id=device.id).exists()

    def test_the_owner_forgets_their_device(self, client_for):
        user = UserFactory(suspended_until=timezone.now() + timedelta(days=1))  # signing out while suspended
        device = Device.objects.create(user=user, token=fcm_token(), platform="android")
        assert client_for(user).delete(f"{DEVICES}/{device.token}").status_code == 204
        assert not Device.objects.exists()
        assert client_for(user).delete(f"{DEVICES}/{device.token}").status_code == 404
