from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.conditional import conditional_read
from backend.core.cursors import InvalidCursor, cursor_read, cursor_sign
from backend.core.errors import Forbidden, NotFound
from backend.core.pagination import NEXT_HELP, PAGE_PARAMETERS, page_body, page_serializer, page_size_from
from backend.core.permissions import NotSuspendedForWrites
from backend.core.private_media import media_file_url
from backend.core.responses import created
from backend.core.schema import error_codes
from backend.creators import selectors as creator_selectors
from backend.videos import selectors, services
from backend.videos.models import Comment, Video

# --- Output -------------------------------------------------------------------


def media_url(video: Video, name: str) -> str | None:
    """One of ``video``'s files, from the store that holds them now: a public URL while the video is shown to
    everyone, a signed link otherwise."""
    return media_file_url(name, public=video.media_public)


class OwnerOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()


# What every video body shows alike: its files, its prompt (hidden unless the owner asks), whether the
# viewer liked it and the AI label. ``files_public`` says which store's links it carries.
class _VideoPlayback(serializers.Serializer):
    prompt = serializers.SerializerMethodField()
    hls_url = serializers.SerializerMethodField()
    mp4_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    liked = serializers.SerializerMethodField()
    ai_generated = serializers.SerializerMethodField()

    def files_public(self, video: Video) -> bool:
        return video.media_public

    def _url(self, video: Video, name: str) -> str | None:
        return media_file_url(name, public=self.files_public(video))

    def get_prompt(self, video: Video) -> str | None:
        viewer = self.context.get("viewer")
        if video.prompt_hidden and (viewer is None or viewer.id != video.owner_id):
            return None
        return video.prompt

    def get_mp4_url(self, video: Video) -> str | None:
        return self._url(video, video.mp4)

    def get_hls_url(self, video: Video) -> str | None:
        # A playlist names its segments by relative paths, which a signed link to the playlist does not
        # cover: players get HLS while the video is public, and the signed MP4 otherwise.
        return self._url(video, video.hls) if self.files_public(video) else None

    def get_poster_url(self, video: Video) -> str | None:
        return self._url(video, video.poster)

    def get_liked(self, video: Video) -> bool:
        return video.id in self.context.get("liked_ids", ())

    def get_ai_generated(self, video: Video) -> bool:
        return True  # every video here is generated; the label travels with the card


class VideoOutput(_VideoPlayback, serializers.ModelSerializer):
    owner = OwnerOutput()

    class Meta:
        model = Video
        fields = [
            "id", "owner", "prompt", "caption", "status", "visibility", "remix_allowed", "duration_s", "width",
            "height", "mp4_url", "hls_url", "poster_url", "like_count", "comment_count", "remix_count",
            "view_count", "liked", "parent_id", "root_id", "depth", "ai_generated", "created_at", "published_at",
        ]  # fmt: skip


@extend_schema_serializer(component_name="CardOutput")  # the name the apps were built against
class VideoCardOutput(_VideoPlayback):
    """A video in a feed, the same for every viewer but ``liked`` (feeds.cards caches it as JSON without it,
    and serving appends it): the prompt as strangers see it, and the links of the store its state calls for."""

    id = serializers.IntegerField()
    author = OwnerOutput(source="owner")
    caption = serializers.CharField()
    duration_s = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    remix_count = serializers.IntegerField()
    view_count = serializers.IntegerField()
    remix_of = serializers.IntegerField(source="parent_id", allow_null=True)
    cameo_handles = serializers.SerializerMethodField()
    published_at = serializers.SerializerMethodField()

    class Meta:
        # The order of the cached JSON's keys; ``liked`` is left out there and appended per viewer.
        fields = [
            "id", "author", "caption", "prompt", "hls_url", "mp4_url", "poster_url", "duration_s", "width",
            "height", "like_count", "comment_count", "remix_count", "view_count", "remix_of", "cameo_handles",
            "ai_generated", "published_at", "liked",
        ]  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        ordered = {name: fields[name] for name in self.Meta.fields}
        if self.context.get("shared"):
            del ordered["liked"]
        return ordered

    def files_public(self, video: Video) -> bool:
        # The store its state calls for, not where the files are this instant: a card rebuilt while its
        # files move (media's receivers run after the feeds') is right once they have moved. A card for
        # followers carries signed links, which outlive it (FEED_CARD_TTL_S < MEDIA_URL_EXPIRY_SECONDS).
        return video.shown_to_everyone

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_cameo_handles(self, video: Video) -> list[str]:
        return self.context["cameo_handles"].get(video.id, [])

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_published_at(self, video: Video) -> str:
        return video.published_at.isoformat()  # as cached since the first card: "+00:00", not DRF's "Z"


class LineageNodeOutput(serializers.Serializer):
    """A node in a remix tree the viewer may see, or the tombstone of a removed post (attribution only)."""

    id = serializers.IntegerField()
    owner_handle = serializers.CharField()
    status = serializers.ChoiceField(choices=["available", "removed"])
    available = serializers.BooleanField()
    depth = serializers.IntegerField()
    caption = serializers.CharField(allow_null=True)
    poster_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


def lineage_nodes(videos: list[Video]) -> list[dict]:
    """Nodes a viewer may list: videos they may see, and tombstones of removed posts."""
    nodes = []
    for video in videos:
        available = not video.is_removed
        nodes.append(
            {
                "id": video.id,
                "owner_handle": video.owner.handle,
                "status": "available" if available else "removed",
                "available": available,
                "depth": video.depth,
                "caption": video.caption if available else None,
                "poster_url": media_url(video, video.poster) if available else None,
                "created_at": video.created_at,
            }
        )
    return nodes


def video_body(video: Video, viewer) -> dict:
    liked = selectors.liked_by(viewer=viewer, video_ids=[video.id])
    return VideoOutput(video, context={"viewer": viewer, "liked_ids": liked}).data


# --- Input --------------------------------------------------------------------


class VideoUpdateInput(serializers.Serializer):
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True)
    prompt_hidden = serializers.BooleanField(required=False)
    visibility = serializers.ChoiceField(choices=Video.Visibility.choices, required=False)
    remix_allowed = serializers.BooleanField(required=False)


class PublishInput(serializers.Serializer):
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Video.Visibility.choices, required=False)


class CommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=1000)


class CommentOutput(serializers.ModelSerializer):
    author_handle = serializers.CharField(source="author.handle")

    class Meta:
        model = Comment
        fields = ["id", "author_handle", "body", "created_at"]


# --- Views --------------------------------------------------------------------


def _viewer(request):
    return request.user if request.user.is_authenticated else None


class VideoDetailView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, NotSuspendedForWrites]

    @extend_schema(responses=VideoOutput)
    @conditional_read
    def get(self, request, video_id: int):
        video = selectors.video_visible_to(viewer=_viewer(request), video_id=video_id)
        return Response(video_body(video, _viewer(request)))

    @extend_schema(request=VideoUpdateInput, responses=VideoOutput)
    def patch(self, request, video_id: int):
        data = VideoUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        video = services.video_update(video=video, by=request.user, **data.validated_data)
        return Response(video_body(video, request.user))

    @extend_schema(responses={204: None})
    def delete(self, request, video_id: int):
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        if video.owner_id != request.user.id:
            raise Forbidden(_("Only the owner can delete a video; cameo owners remove appearances."))
        services.video_remove(video=video, by=request.user, reason="deleted by its owner")
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoPublishView(APIView):
    @extend_schema(
        request=PublishInput,
        responses=VideoOutput,
        extensions=error_codes(
            {
                400: ["visibility_wider_than_source"],
                403: [
                    "publish_refused",
                    "cameo_not_allowed",
                    *(f"{why}_withdrawn" for why in Video.Withdrawal.values),
                    "character_not_allowed",
                ],
                409: ["video_removed", "source_unavailable"],
            }
        ),
        examples=[
            OpenApiExample(
                "Publish to everyone",
                request_only=True,
                value={"caption": "rainy night run #skatecat", "visibility": "public"},
            ),
            OpenApiExample(
                "Published",
                response_only=True,
                value={
                    "id": 481,
                    "owner": {"handle": "maya", "display_name": "Maya"},
                    "prompt": "a cat skateboarding down a rainy street at dusk, neon reflections",
                    "caption": "rainy night run #skatecat",
                    "status": "published",
                    "visibility": "public",
                    "remix_allowed": True,
                    "duration_s": 8.0,
                    "width": 720,
                    "height": 1280,
                    "mp4_url": "https://media.example.com/public/videos/481/video.mp4",
                    "hls_url": "https://media.example.com/public/videos/481/hls/master.m3u8",
                    "poster_url": "https://media.example.com/public/videos/481/poster.jpg",
                    "like_count": 0,
                    "comment_count": 0,
                    "remix_count": 0,
                    "view_count": 0,
                    "liked": False,
                    "parent_id": None,
                    "root_id": None,
                    "depth": 0,
                    "ai_generated": True,
                    "created_at": "2026-11-30T18:05:12Z",
                    "published_at": "2026-11-30T18:10:00Z",
                },
            ),
        ],
    )
    def post(self, request, video_id: int):
        data = PublishInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        video = services.video_publish(video=video, by=request.user, **data.validated_data)
        return Response(video_body(video, request.user))


LikeState = inline_serializer(
    "LikeState", {"liked": serializers.BooleanField(), "like_count": serializers.IntegerField()}
)


class VideoLikeView(APIView):
    def _state(self, video_id: int, liked: bool) -> Response:
        return Response({"liked": liked, "like_count": Video.objects.get(id=video_id).like_count})

    @extend_schema(request=None, responses=LikeState)
    def post(self, request, video_id: int):
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        services.like_create(video=video, user=request.user)
        return self._state(video.id, True)

    @extend_schema(request=None, responses={200: LikeState})
    def delete(self, request, video_id: int):
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        services.like_delete(video=video, user=request.user)
        return self._state(video.id, False)


class VideoCommentsView(ListAPIView):
    serializer_class = CommentOutput
    queryset = Comment.objects.none()  # for the schema

    @property
    def throttle_scope(self) -> str | None:  # posting is throttled, reading is not
        return "comments" if self.request.method == "POST" else None

    permission_classes = [IsAuthenticatedOrReadOnly, NotSuspendedForWrites]

    def get_queryset(self):
        video = selectors.video_visible_to(viewer=_viewer(self.request), video_id=self.kwargs["video_id"])
        return selectors.comments_of(viewer=_viewer(self.request), video=video)

    @extend_schema(
        request=CommentInput, responses={201: CommentOutput}, extensions=error_codes({400: ["comment_empty"]})
    )
    def post(self, request, video_id: int):
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        comment = services.comment_create(video=video, author=request.user, body=data.validated_data["body"])
        return created(
            request, CommentOutput(comment).data, view_name="video-comment", video_id=video.id, comment_id=comment.id
        )


class CommentDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, video_id: int, comment_id: int):
        video = selectors.video_visible_to(viewer=request.user, video_id=video_id)
        comment = selectors.comments_of(viewer=request.user, video=video).filter(id=comment_id).first()
        if comment is None:
            raise NotFound(_("No such comment."))
        services.comment_delete(comment=comment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LineageOutput(serializers.Serializer):
    """The video's place in its remix tree, and a page of its direct remixes (``results``, ``next``)."""

    video = LineageNodeOutput()
    depth = serializers.IntegerField()
    descendant_count = serializers.IntegerField()
    ancestors = LineageNodeOutput(many=True, help_text="From the root down to the parent: never paginated.")
    results = LineageNodeOutput(many=True, help_text="A page of the direct remixes, oldest first.")
    next = serializers.CharField(allow_null=True, help_text=NEXT_HELP)


# A page of a video's lineage after the request's cursor; 404 unless the viewer may see its lineage.
class _LineagePageView(APIView):
    permission_classes = [AllowAny]
    cursor_salt: str  # a cursor holds a position in one list of one video

    def position(self, payload):
        """The position a cursor's payload names; raise InvalidCursor unless it is one of this list's."""
        raise NotImplementedError

    def rows_after(self, *, viewer, video: Video, after, limit: int) -> list:
        raise NotImplementedError

    def body(self, *, viewer, video: Video, rows: list, next_cursor: str | None) -> dict:
        raise NotImplementedError

    def last_position(self, row):
        raise NotImplementedError

    def get(self, request, video_id: int):
        viewer = _viewer(request)
        video = selectors.video_for_lineage(viewer=viewer, video_id=video_id)
        salt = f"{self.cursor_salt}:{video.id}"
        token = request.query_params.get("cursor")
        after = self.position(cursor_read(token, salt=salt)) if token else None
        size = page_size_from(request)
        rows = self.rows_after(viewer=viewer, video=video, after=after, limit=size + 1)
        rows, more = rows[:size], len(rows) > size
        next_cursor = cursor_sign(self.last_position(rows[-1]), salt=salt) if more else None
        return Response(self.body(viewer=viewer, video=video, rows=rows, next_cursor=next_cursor))


@extend_schema_view(get=extend_schema(parameters=PAGE_PARAMETERS, responses=LineageOutput))
class VideoLineageView(_LineagePageView):
    cursor_salt = "videos.lineage.remixes"

    def position(self, payload):
        if not isinstance(payload, int) or isinstance(payload, bool):
            raise InvalidCursor()
        return payload

    def last_position(self, row):
        return row.id

    def rows_after(self, *, viewer, video: Video, after, limit: int) -> list:
        return selectors.lineage_direct_remixes(viewer=viewer, video=video, after=after, limit=limit)

    def body(self, *, viewer, video: Video, rows: list, next_cursor: str | None) -> dict:
        return {
            "video": lineage_nodes([video])[0],
            "depth": video.depth,
            "descendant_count": selectors.lineage_descendant_count(viewer=viewer, video=video),
            "ancestors": lineage_nodes(selectors.lineage_ancestors(viewer=viewer, video=video)),
            **page_body(lineage_nodes(rows), next_cursor),
        }


SubtreeOutput = page_serializer(
    "SubtreeOutput",
    LineageNodeOutput(many=True),
    descendant_count=serializers.IntegerField(help_text="Remixes at any depth the viewer may list."),
)


@extend_schema_view(get=extend_schema(parameters=PAGE_PARAMETERS, responses=SubtreeOutput))
class VideoRemixesView(_LineagePageView):
    """The whole remix subtree, breadth first, one page at a time."""

    cursor_salt = "videos.lineage.subtree"

    def position(self, payload):
        valid = isinstance(payload, list) and len(payload) == 2
        if not valid or not all(isinstance(part, int) and not isinstance(part, bool) for part in payload):
            raise InvalidCursor()
        return tuple(payload)

    def last_position(self, row):
        return [row.depth, row.descendant_id]

    def rows_after(self, *, viewer, video: Video, after, limit: int) -> list:
        return selectors.lineage_subtree_page(viewer=viewer, video=video, after=after, limit=limit)

    def body(self, *, viewer, video: Video, rows: list, next_cursor: str | None) -> dict:
        return page_body(
            lineage_nodes([row.descendant for row in rows]),
            next_cursor,
            descendant_count=selectors.lineage_descendant_count(viewer=viewer, video=video),
        )


class _PublicVideoListView(ListAPIView):
    """A page of videos with whether the viewer liked each, in one query for all likes."""

    permission_classes = [AllowAny]
    serializer_class = VideoOutput
    queryset = Video.objects.none()  # for the schema

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        viewer = _viewer(request)
        liked = selectors.liked_by(viewer=viewer, video_ids=[video.id for video in page])
        data = VideoOutput(page, many=True, context={"viewer": viewer, "liked_ids": liked}).data
        return self.get_paginated_response(data)


class CreatorVideosView(_PublicVideoListView):
    cursor_ordering = ("-published_at", "-id")

    def get_queryset(self):
        viewer = _viewer(self.request)
        owner = creator_selectors.creator_get(viewer=viewer, handle=self.kwargs["handle"])
        return selectors.creator_videos(viewer=viewer, owner=owner)


class HashtagOutput(serializers.Serializer):
    name = serializers.CharField()
    is_challenge = serializers.BooleanField()
    title = serializers.CharField()
    description = serializers.CharField()


class HashtagVideosView(_PublicVideoListView):
    """A hashtag or challenge page: its entries by recency (default) or by likes."""

    @extend_schema(parameters=[OpenApiParameter("order", enum=["recent", "likes"])])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        hashtag = selectors.hashtag_get(name=self.kwargs["name"])
        return selectors.hashtag_entries(viewer=_viewer(self.request), hashtag=hashtag)

    def cursor_ordering(self, request):
        return ("-like_count", "-id") if request.query_params.get("order") == "likes" else ("-published_at", "-id")
