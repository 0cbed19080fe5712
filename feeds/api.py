from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from feeds import selectors, services
from feeds.models import FeedPreference


class FeedQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[selectors.FOR_YOU, selectors.FOLLOWING], default=selectors.FOR_YOU)
    cursor = serializers.CharField(required=False, max_length=2000)


class CardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author = inline_serializer(
        "CardAuthor", {"handle": serializers.CharField(), "display_name": serializers.CharField()}
    )
    caption = serializers.CharField()
    prompt = serializers.CharField(allow_null=True)
    hls_url = serializers.CharField(allow_null=True)
    mp4_url = serializers.CharField(allow_null=True)
    poster_url = serializers.CharField(allow_null=True)
    duration_s = serializers.FloatField()
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    remix_count = serializers.IntegerField()
    view_count = serializers.IntegerField()
    liked = serializers.BooleanField()
    remix_of = serializers.IntegerField(allow_null=True)
    cameo_handles = serializers.ListField(child=serializers.CharField())
    ai_generated = serializers.BooleanField()


class FeedOutput(serializers.Serializer):
    results = CardOutput(many=True)
    next = serializers.CharField(allow_null=True)


class FeedView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=[selectors.FOR_YOU, selectors.FOLLOWING]),
            OpenApiParameter("cursor", str),
        ],
        responses=FeedOutput,
    )
    def get(self, request):
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.feed_page(viewer=request.user, **query.validated_data))


class EventInput(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    video_id = serializers.IntegerField(min_value=1)
    type = serializers.ChoiceField(choices=services.EVENT_TYPES)
    watch_ms = serializers.IntegerField(min_value=0, max_value=3_600_000, required=False, default=0)


class EventsInput(serializers.Serializer):
    events = EventInput(many=True, allow_empty=False, max_length=services.MAX_EVENTS_PER_BATCH)


EventsOutput = inline_serializer("EventsAccepted", {"accepted": serializers.IntegerField(),
                                                     "duplicates": serializers.IntegerField()})  # fmt: skip


class FeedEventsView(APIView):
    @extend_schema(request=EventsInput, responses=EventsOutput)
    def post(self, request):
        data = EventsInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.events_record(user=request.user, events=data.validated_data["events"]))


class PreferencesInput(serializers.Serializer):
    text = serializers.CharField(max_length=500, allow_blank=True)


class PreferencesOutput(serializers.ModelSerializer):
    class Meta:
        model = FeedPreference
        fields = ["text", "more_topics", "less_topics", "updated_at"]


class FeedPreferencesView(APIView):
    @extend_schema(responses=PreferencesOutput)
    def get(self, request):
        preference = FeedPreference.objects.filter(user=request.user).first() or FeedPreference(user=request.user)
        return Response(PreferencesOutput(preference).data)

    @extend_schema(request=PreferencesInput, responses=PreferencesOutput)
    def put(self, request):
        data = PreferencesInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            PreferencesOutput(services.preferences_set(user=request.user, text=data.validated_data["text"])).data
        )
