"""The phones a person gets pushes on: ``POST /api/v1/devices`` registers or refreshes one, ``DELETE
/api/v1/devices/{token}`` forgets it (on sign-out).

The writes sit here with their views rather than in services.py: nothing else writes a device but the
delivery pruning a dead token (notifications/delivery.py) and a purge erasing the account's
(``services.person_erase``).
"""

from __future__ import annotations

import functools
import zoneinfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import NotFound
from backend.core.responses import created
from backend.creators.models import User
from notifications.models import Device

# One person's phones, tablets and browsers; past this the devices not seen the longest are forgotten, so
# a client registering a new token on every start cannot make each push fan out to thousands.
MAX_DEVICES_PER_USER = 10
# FCM registration tokens: letters, digits, "-", "_" and ":" (and "." in older ones).
TOKEN_PATTERN = r"^[A-Za-z0-9_:.\-]{32,512}$"
LOCALE_PATTERN = r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$"


@transaction.atomic
def device_register(
    *, user: User, token: str, platform: str, app_version: str = "", locale: str = "", time_zone: str = ""
) -> tuple[Device, bool]:
    """Register the phone holding ``token`` for ``user``, or refresh it; True when it is new.

    A token is one app install: when it comes again from another account (someone signed in as someone
    else on the same phone), the device moves to that account, so the previous one's pushes stop reaching it.
    """
    now = timezone.now()
    # One statement whoever registers the same token at the same moment (INSERT ... ON CONFLICT DO UPDATE).
    Device.objects.bulk_create(
        [Device(user=user, token=token, platform=platform, app_version=app_version, locale=locale,
                time_zone=time_zone, created_at=now, last_seen_at=now)],
        update_conflicts=True,
        unique_fields=["token"],
        update_fields=["user", "platform", "app_version", "locale", "time_zone", "last_seen_at"],
    )  # fmt: skip
    device = Device.objects.get(token=token)
    stale = Device.objects.filter(user=user).order_by("-last_seen_at", "-id").values_list("id", flat=True)
    stale = stale[MAX_DEVICES_PER_USER:]
    Device.objects.filter(id__in=list(stale)).delete()
    return device, device.created_at == now


@transaction.atomic
def device_delete(*, user: User, token: str) -> None:
    """Forget ``user``'s device; 404 for a token of someone else's device, exactly as for an unknown one."""
    deleted, _by_model = Device.objects.filter(user=user, token=token).delete()
    if not deleted:
        raise NotFound(_("No such device."))


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class DeviceInput(serializers.Serializer):
    token = serializers.RegexField(TOKEN_PATTERN, help_text="The FCM registration token of the app install.")
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    locale = serializers.RegexField(LOCALE_PATTERN, max_length=35, required=False, allow_blank=True, default="",
                                    help_text='The language of the phone, a BCP 47 tag ("pt-BR").')  # fmt: skip
    time_zone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text='The IANA time zone of the phone ("Europe/Paris"): a teen\'s night has no pushes.',
    )  # fmt: skip

    def validate_time_zone(self, value: str) -> str:
        if value and value not in _time_zones():
            raise serializers.ValidationError(_("Not an IANA time zone."), code="invalid_time_zone")
        return value


class DeviceOutput(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["token", "platform", "app_version", "locale", "time_zone", "created_at", "last_seen_at"]


class DeviceListView(APIView):
    @extend_schema(
        operation_id="device_register", request=DeviceInput, responses={201: DeviceOutput, 200: DeviceOutput}
    )
    def post(self, request):
        data = DeviceInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, is_new = device_register(user=request.user, **data.validated_data)
        if is_new:
            return created(request, DeviceOutput(device).data, view_name="device", token=device.token)
        return Response(DeviceOutput(device).data)


class DeviceView(APIView):
    @extend_schema(operation_id="device_delete", request=None, responses={204: None})
    def delete(self, request, token: str):
        device_delete(user=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
