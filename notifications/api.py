"""The inbox over REST: items, marking them read, preferences per kind and channel."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.pagination import PAGE_PARAMETERS, page_body, page_serializer, page_size_from
from backend.core.private_media import media_file_url
from backend.creators.models import User
from notifications import selectors, services
from notifications.models import Channel, Kind, Notification

MARK_READ_MAX_IDS = 500


class ActorOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()
    avatar = serializers.SerializerMethodField()

    def get_avatar(self, user: User) -> str | None:
        return media_file_url(user.avatar.name, public=True) if user.avatar else None


class TargetOutput(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")


class NotificationDataOutput(serializers.Serializer):
    """The facts of a kind; only those the kind has are present."""

    video_id = serializers.IntegerField(required=False)
    comment_id = serializers.IntegerField(required=False)
    approval_id = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False, allow_null=True, help_text="A reason code.")
    decision = serializers.CharField(required=False, help_text="`removed` or `restored`.")
    outcome = serializers.CharField(required=False)
    target_type = serializers.CharField(required=False)
    active_strikes = serializers.IntegerField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    period = serializers.CharField(required=False, help_text="YYYY-MM")

    def to_representation(self, instance):
        return {key: value for key, value in super().to_representation(instance).items() if key in instance}


class NotificationOutput(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices, help_text="The stable code of the kind.")
    actors = ActorOutput(many=True, read_only=True, help_text="Up to 3, newest first.")
    target = TargetOutput(source="*")
    data = NotificationDataOutput(help_text="Codes and counts of the kind (a reason code, a strike count).")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "actors", "actor_count", "target", "deep_link", "data", "created_at", "updated_at",
                  "read"]  # fmt: skip

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


InboxOutput = page_serializer(
    "InboxOutput", NotificationOutput(many=True), unread_count=serializers.IntegerField(help_text="Of all items.")
)


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
        parameters=PAGE_PARAMETERS,
        responses=InboxOutput,
    )
    def get(self, request):
        page = selectors.inbox(
            user=request.user,
            cursor=request.query_params.get("cursor") or None,
            limit=page_size_from(request, default=selectors.INBOX_PAGE),
        )
        body = page_body(
            NotificationOutput(page.items, many=True).data,
            page.next,
            unread_count=selectors.unread_count(user=request.user),
        )
        return Response(body)


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
