"""The inbox over REST: items, marking them read, preferences per kind and channel."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core import storage
from backend.creators.models import User
from notifications import selectors, services
from notifications.models import Channel, Kind, Notification

CURSOR_MAX_LENGTH = 500
MARK_READ_MAX_IDS = 500


class ActorOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()
    avatar = serializers.SerializerMethodField()

    def get_avatar(self, user: User) -> str | None:
        return storage.public().url(user.avatar.name) if user.avatar else None


class TargetOutput(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")


class NotificationOutput(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices, help_text="The stable code of the kind.")
    actors = ActorOutput(many=True, read_only=True, help_text="Up to 3, newest first.")
    target = TargetOutput(source="*")
    data = serializers.DictField(help_text="Codes and counts of the kind (a reason code, a strike count).")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "actors", "actor_count", "target", "deep_link", "data", "created_at", "updated_at",
                  "read"]  # fmt: skip

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class InboxOutput(serializers.Serializer):
    results = NotificationOutput(many=True)
    next = serializers.CharField(allow_null=True, help_text="The cursor of the next page; null on the last.")
    unread_count = serializers.IntegerField()


class InboxQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, max_length=CURSOR_MAX_LENGTH)


class MarkReadInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=MARK_READ_MAX_IDS
    )
    all = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if ("ids" in attrs) == bool(attrs.get("all")):
            raise serializers.ValidationError(_('Give either "ids" or "all": true.'), code="ids_or_all")
        return attrs


class MarkReadOutput(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many unread items became read.")
    unread_count = serializers.IntegerField()


class PreferenceInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class PreferenceOutput(PreferenceInput):
    mandatory = serializers.BooleanField(help_text="Every use of your likeness: cannot be switched off.")


def _marked(request, marked: int) -> Response:
    return Response(MarkReadOutput({"marked": marked, "unread_count": selectors.unread_count(user=request.user)}).data)


class NotificationListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("cursor", str, description="`next` of the previous page")],
        responses=InboxOutput,
    )
    def get(self, request):
        query = InboxQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = selectors.inbox(user=request.user, cursor=query.validated_data.get("cursor"))
        return Response(
            InboxOutput(
                {"results": page.items, "next": page.next, "unread_count": selectors.unread_count(user=request.user)}
            ).data
        )


class NotificationsReadView(APIView):
    @extend_schema(operation_id="notifications_read_many", request=MarkReadInput, responses=MarkReadOutput)
    def post(self, request):
        data = MarkReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _marked(request, services.notifications_mark_read(user=request.user, ids=data.validated_data.get("ids")))


class NotificationReadView(APIView):
    @extend_schema(operation_id="notification_read", request=None, responses=MarkReadOutput)
    def post(self, request, notification_id: int):
        notification = selectors.notification_of(user=request.user, notification_id=notification_id)
        return _marked(request, services.notifications_mark_read(user=request.user, ids=[notification.id]))


class NotificationPreferencesView(APIView):
    @extend_schema(responses=PreferenceOutput(many=True))
    def get(self, request):
        return Response(PreferenceOutput(selectors.preferences(user=request.user), many=True).data)

    @extend_schema(request=PreferenceInput(many=True), responses=PreferenceOutput(many=True))
    def put(self, request):
        data = PreferenceInput(data=request.data, many=True, max_length=len(Kind) * len(Channel))
        data.is_valid(raise_exception=True)
        changes = [(change["kind"], change["channel"], change["enabled"]) for change in data.validated_data]
        services.preferences_set(user=request.user, changes=changes)
        return self.get(request)
