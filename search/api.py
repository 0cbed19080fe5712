"""Search, type-ahead and discovery. Every list is ``{"results": [...], "next": <cursor or null>}``."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core import storage
from backend.core import textsearch as text
from backend.core.cursors import InvalidCursor, cursor_read, cursor_sign
from backend.core.errors import DomainError
from backend.creators.models import User
from backend.videos import selectors as video_selectors
from backend.videos.api import VideoOutput
from backend.videos.models import Hashtag, Video
from search import selectors

PAGE = 20
CURSOR_SALT = "search.page"


def _viewer(request) -> User | None:
    return request.user if request.user.is_authenticated else None


# --- Output ---------------------------------------------------------------------------


class CreatorResultOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.SerializerMethodField()
    follower_count = serializers.IntegerField()

    def get_avatar_url(self, user: User) -> str | None:
        return storage.public().url(user.avatar.name) if user.avatar else None


class HashtagResultOutput(serializers.Serializer):
    name = serializers.CharField()
    is_challenge = serializers.BooleanField()
    title = serializers.CharField()
    video_count = serializers.IntegerField(default=0)


def _videos(videos: list[Video], viewer: User | None) -> list[dict]:
    liked = video_selectors.liked_by(viewer=viewer, video_ids=[video.id for video in videos])
    return VideoOutput(videos, many=True, context={"viewer": viewer, "liked_ids": liked}).data


def _serialize(kind: str, rows: list, viewer: User | None) -> list[dict]:
    if kind == "creators":
        return CreatorResultOutput(rows, many=True).data
    if kind == "videos":
        return _videos(rows, viewer)
    return HashtagResultOutput(rows, many=True).data


# --- Input ----------------------------------------------------------------------------


class QueryInput(serializers.Serializer):
    q = serializers.CharField(max_length=text.MAX_QUERY_LENGTH * 2)

    def validate_q(self, value: str) -> str:
        cleaned = text.clean(value)
        if not cleaned:
            raise serializers.ValidationError("Type something to search for.")
        return cleaned


class SearchInput(QueryInput):
    type = serializers.ChoiceField(choices=selectors.KINDS, default="videos")
    cursor = serializers.CharField(required=False, max_length=1000)


def _page_start(token: str | None, *, bound: dict) -> tuple[int, datetime | None]:
    """Where a page starts, from a cursor this view handed out for the same ``bound`` (query, kind...)."""
    if not token:
        return 0, None
    payload = cursor_read(token, salt=CURSOR_SALT)
    if not isinstance(payload, dict) or any(payload.get(key) != value for key, value in bound.items()):
        raise InvalidCursor()
    try:
        return int(payload["o"]), datetime.fromisoformat(payload["at"])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidCursor() from error


def _next_cursor(*, bound: dict, offset: int, as_of: datetime) -> str:
    return cursor_sign({**bound, "o": offset, "at": as_of.isoformat()}, salt=CURSOR_SALT)


def _page(rows: list, offset: int, *, bound: dict, as_of: datetime) -> tuple[list, str | None]:
    more = len(rows) > PAGE and offset + PAGE < selectors.MAX_RESULTS
    return rows[:PAGE], _next_cursor(bound=bound, offset=offset + PAGE, as_of=as_of) if more else None


PageOutput = inline_serializer(
    "SearchPage",
    {"results": serializers.ListField(child=serializers.DictField()), "next": serializers.CharField(allow_null=True)},
)


# --- Views ----------------------------------------------------------------------------


class SearchView(APIView):
    """Creators, videos, hashtags or challenges for a query, best first, one page at a time."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("type", enum=list(selectors.KINDS), default="videos"),
            OpenApiParameter("cursor", str, description="Opaque cursor from the previous page."),
        ],
        responses=PageOutput,
    )
    def get(self, request):
        data = SearchInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        query, kind = data.validated_data["q"], data.validated_data["type"]
        bound = {"q": query, "t": kind}
        offset, as_of = _page_start(data.validated_data.get("cursor"), bound=bound)
        as_of = as_of or datetime.now().astimezone()
        viewer = _viewer(request)
        # PAGE + 1 rows tell whether there is a next page.
        rows = selectors.search_page(viewer=viewer, kind=kind, query=query, as_of=as_of, offset=offset, limit=PAGE + 1)
        rows, next_cursor = _page(rows, offset, bound=bound, as_of=as_of)
        return Response({"results": _serialize(kind, rows, viewer), "next": next_cursor})


def _suggestion_output(**kwargs) -> serializers.Serializer:
    fields = {
        "type": serializers.ChoiceField(choices=["creator", "hashtag", "challenge"]),
        "label": serializers.CharField(),
        "creator": CreatorResultOutput(required=False),
        "hashtag": HashtagResultOutput(required=False),
    }
    return inline_serializer("Suggestion", fields, **kwargs)


class SuggestView(APIView):
    """Type-ahead: a handful of creators, hashtags and challenges in one call."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True)],
        responses=inline_serializer(
            "Suggestions",
            {"results": _suggestion_output(many=True), "next": serializers.CharField(allow_null=True)},
        ),
    )
    def get(self, request):
        data = QueryInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        results = []
        for suggestion in selectors.suggest(viewer=_viewer(request), query=data.validated_data["q"]):
            if suggestion.kind == "creator":
                creator = suggestion.item
                results.append(
                    {"type": "creator", "label": f"@{creator.handle}", "creator": CreatorResultOutput(creator).data}
                )
            else:
                tag = suggestion.item
                results.append(
                    {"type": suggestion.kind, "label": f"#{tag.name}", "hashtag": HashtagResultOutput(tag).data}
                )
        return Response({"results": results, "next": None})


class DiscoverView(APIView):
    """Trending hashtags and challenges; each challenge with the top of its leaderboard (by remixes)."""

    @extend_schema(
        responses=inline_serializer(
            "Discover",
            {
                "hashtags": HashtagResultOutput(many=True),
                "challenges": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        viewer = _viewer(request)
        hashtags = selectors.trending_hashtags(challenges=False)
        challenges = selectors.trending_hashtags(challenges=True)
        previews = selectors.leaderboard_previews(viewer=viewer, hashtags=challenges)
        shown = [video for videos in previews.values() for video in videos]
        cards = dict(zip([video.id for video in shown], _videos(shown, viewer), strict=True))
        return Response(
            {
                "hashtags": HashtagResultOutput(hashtags, many=True).data,
                "challenges": [
                    {
                        **HashtagResultOutput(challenge).data,
                        "description": challenge.description,
                        "leaderboard": [cards[video.id] for video in previews[challenge.id]],
                    }
                    for challenge in challenges
                ],
            }
        )


class LeaderboardInput(serializers.Serializer):
    by = serializers.ChoiceField(choices=["remixes", "likes"], default="remixes")
    cursor = serializers.CharField(required=False, max_length=1000)


class ChallengeLeaderboardView(APIView):
    """A challenge's posts the viewer may see, by remixes (then likes) or by likes (then remixes)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("by", enum=["remixes", "likes"], default="remixes"),
            OpenApiParameter("cursor", str, description="Opaque cursor from the previous page."),
        ],
        responses=PageOutput,
    )
    def get(self, request, name: str):
        data = LeaderboardInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        challenge: Hashtag = selectors.challenge_get(name=name)
        bound = {"c": challenge.id, "by": data.validated_data["by"]}
        offset, as_of = _page_start(data.validated_data.get("cursor"), bound=bound)
        if offset >= selectors.MAX_RESULTS:
            raise DomainError("Too deep; this list ends here.", code="invalid_cursor")
        viewer = _viewer(request)
        entries = selectors.challenge_entries(viewer=viewer, hashtag=challenge, by=data.validated_data["by"])
        rows, next_cursor = _page(
            list(entries[offset : offset + PAGE + 1]), offset, bound=bound, as_of=as_of or datetime.now().astimezone()
        )
        return Response({"results": _videos(rows, viewer), "next": next_cursor})
