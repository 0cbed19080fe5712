from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from backend.core.pagination import CURSOR_PARAMETER, page_serializer
from backend.core.schema import error_codes
from backend.videos.api import VideoCardOutput
from feeds import selectors, services
from feeds.models import FeedPreference

FEED_KINDS = (selectors.FOR_YOU, selectors.FOLLOWING)


def feed_query(params) -> dict:
    """``kind`` and ``cursor`` from the query string.

    Plain code rather than a serializer: this is the most requested endpoint, and
    building a serializer costs more than the rest of a warm page's Python work.
    """
    kind = params.get("kind", selectors.FOR_YOU)
    if kind not in FEED_KINDS:
        raise serializers.ValidationError(
            {"kind": [_("Choose one of: %(choices)s.") % {"choices": ", ".join(FEED_KINDS)}]}
        )
    # A cursor too long to be ours is refused as invalid_cursor before any work (backend.core.cursors).
    return {"kind": kind, "cursor": params.get("cursor") or None}


FeedOutput = page_serializer("FeedOutput", VideoCardOutput(many=True))  # written by feeds.cards.page_json


class FeedView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=FEED_KINDS, default=selectors.FOR_YOU),
            CURSOR_PARAMETER,  # no page_size: a feed page is FEED_PAGE_SIZE cards
        ],
        responses=FeedOutput,
        extensions=error_codes({400: ["invalid_cursor", "cursor_expired"], 429: ["teen_daily_limit"]}),
        examples=[
            OpenApiExample(
                "A page",
                response_only=True,
                value={
                    "results": [
                        {
                            "id": 481,
                            "author": {"handle": "maya", "display_name": "Maya"},
                            "caption": "rainy night run #skatecat",
                            "prompt": None,
                            "hls_url": "https://media.example.com/public/videos/481/hls/master.m3u8",
                            "mp4_url": "https://media.example.com/public/videos/481/video.mp4",
                            "poster_url": "https://media.example.com/public/videos/481/poster.jpg",
                            "duration_s": 8.0,
                            "width": 720,
                            "height": 1280,
                            "like_count": 112,
                            "comment_count": 9,
                            "remix_count": 3,
                            "view_count": 2040,
                            "remix_of": None,
                            "cameo_handles": ["maya"],
                            "ai_generated": True,
                            "published_at": "2026-11-30T18:10:00+00:00",
                            "liked": False,
                        },
                    ],
                    "next": "eyJvIjoyMCwiayI6ImZvcl95b3UifQ:1v8xQp:Zr3...",
                },
            ),
        ],
    )
    def get(self, request):
        page = services.feed_page_serve(viewer=request.user, **feed_query(request.query_params))
        return HttpResponse(page.json(), content_type="application/json")


class EventInput(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    video_id = serializers.IntegerField(min_value=1)
    type = serializers.ChoiceField(choices=services.EVENT_TYPES)
    watch_ms = serializers.IntegerField(min_value=0, max_value=3_600_000, required=False, default=0)


class EventsInput(serializers.Serializer):
    events = EventInput(many=True, allow_empty=False, max_length=services.MAX_EVENTS_PER_BATCH)


EventsOutput = inline_serializer(
    "EventsAccepted",
    {
        "accepted": serializers.IntegerField(help_text="events counted"),
        "duplicates": serializers.IntegerField(
            help_text="event ids sent before, or a view, impression, completion or skip of a video "
            "counted today already: each counts once per viewer, video and day"
        ),
        "ignored": serializers.IntegerField(help_text="events on videos you can no longer see: not counted"),
    },
)


class FeedEventsThrottle(UserRateThrottle):
    """Batches of events per user, on top of the general throttles: ``THROTTLE_FEED_EVENTS`` (default 120/min)."""

    scope = "feed_events"

    def get_rate(self):
        # Read per request (DRF makes a throttle per request): a test or a deployment sets it plainly.
        return getattr(settings, "THROTTLE_FEED_EVENTS", None) or self.THROTTLE_RATES.get(self.scope) or "120/min"


class FeedEventsView(APIView):
    throttle_classes = [*APIView.throttle_classes, FeedEventsThrottle]

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
        fields = ["text", "more_topics", "less_topics", "language", "updated_at"]


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
            PreferencesOutput(
                services.preferences_set(
                    user=request.user, text=data.validated_data["text"], language=translation.get_language()
                )
            ).data
        )
