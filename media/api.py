from __future__ import annotations

import django_filters
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import DomainError, NotFound
from backend.core.parsers import LimitedJSONParser
from backend.videos import selectors as video_selectors
from backend.videos.models import Video
from media import provenance_lookup, selectors, services
from media.models import RenderJob
from media.providers import cog

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per request; a retry with the same key and body returns the same job.",
)


class RenderRequestInput(serializers.Serializer):
    prompt = serializers.CharField(max_length=2000, trim_whitespace=True)
    duration_s = serializers.IntegerField(min_value=1, max_value=60)
    aspect = serializers.ChoiceField(choices=RenderJob.Aspect.choices, default=RenderJob.Aspect.PORTRAIT)
    resolution = serializers.ChoiceField(choices=RenderJob.Resolution.choices, default=RenderJob.Resolution.HD)
    cameo_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=4, default=list)
    character_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=4, default=list)
    reference_image = serializers.ImageField(required=False)

    def validate_reference_image(self, image):
        if image.size > settings.RENDER_REFERENCE_IMAGE_MAX_BYTES:
            raise serializers.ValidationError("The reference image is too large.", code="file_too_large")
        return image


class RenderJobOutput(serializers.ModelSerializer):
    cameo_ids = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = RenderJob
        fields = [
            "id", "kind", "status", "stage", "progress", "attempts", "error", "prompt", "duration_s", "aspect",
            "resolution", "cameo_ids", "source_video_id", "result_video_id", "provider",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_cameo_ids(self, job: RenderJob) -> list[int]:
        return sorted(cameo.id for cameo in job.cameos.all())

    @extend_schema(responses={"type": "object", "nullable": True})
    def get_error(self, job: RenderJob) -> dict | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_message}


def idempotency_key_from(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise DomainError("Send an Idempotency-Key header with each render request.", code="idempotency_key_required")
    if len(key) > 100 or not key.isprintable():
        raise DomainError(
            "The Idempotency-Key must be at most 100 printable characters.", code="invalid_idempotency_key"
        )
    return key


def render_response(job: RenderJob, created: bool) -> Response:
    return Response(RenderJobOutput(job).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RenderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RenderJob.Status.choices)
    kind = django_filters.ChoiceFilter(choices=RenderJob.Kind.choices)

    class Meta:
        model = RenderJob
        fields = ["status", "kind"]


class RenderListCreateView(generics.ListAPIView):
    serializer_class = RenderJobOutput
    filterset_class = RenderFilter
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]
    queryset = RenderJob.objects.none()  # for the schema

    def get_queryset(self):
        return selectors.render_jobs_of(user=self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=RenderRequestInput, responses={201: RenderJobOutput})
    def post(self, request):
        key = idempotency_key_from(request)
        data = RenderRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = services.render_job_request(requester=request.user, idempotency_key=key, **data.validated_data)
        return render_response(job, created)


class RenderDetailView(APIView):
    @extend_schema(responses=RenderJobOutput)
    def get(self, request, render_id):
        return Response(RenderJobOutput(selectors.render_job_of(user=request.user, job_id=render_id)).data)


class RenderCancelView(APIView):
    @extend_schema(request=None, responses=RenderJobOutput)
    def post(self, request, render_id):
        job = selectors.render_job_of(user=request.user, job_id=render_id)
        return Response(RenderJobOutput(services.render_job_cancel(job=job)).data)


class RemixRequestInput(RenderRequestInput):
    """A remix sends the source's frames to the provider, so every cameo and character in the source
    travels into the remix and needs the remixer's own permission; ``cameo_ids`` adds more."""


class VideoRemixView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=RemixRequestInput, responses={201: RenderJobOutput})
    def post(self, request, video_id: int):
        key = idempotency_key_from(request)
        data = RemixRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        source = video_selectors.video_visible_to(viewer=request.user, video_id=video_id)
        job, created = services.remix_request(requester=request.user, idempotency_key=key, source=source,
                                              **data.validated_data)  # fmt: skip
        return render_response(job, created)


class CogWebhookView(APIView):
    """Cog posts a prediction's progress here; the signed token in the URL proves it is ours."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(request=OpenApiTypes.OBJECT, responses={204: None}, exclude=True)
    def post(self, request, prediction_id: str):
        if cog.webhook_prediction_id(request.query_params.get("token", "")) != prediction_id:
            raise NotFound("No such prediction.")
        if not isinstance(request.data, dict):
            raise DomainError("Expected a prediction object.", code="invalid_webhook")
        cog.record_webhook(prediction_id=prediction_id, payload=request.data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProvenanceLookupInput(serializers.Serializer):
    file = serializers.FileField()


class ProvenanceLookupView(APIView):
    """Upload a clip or a frame: was it made here, by whom, when, from what."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "provenance"

    @extend_schema(request=ProvenanceLookupInput, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = ProvenanceLookupInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = provenance_lookup.lookup(data.validated_data["file"])
        body = {"made_here": result["match"] is not None, "video": None, "c2pa": None}
        if result["match"]:
            video_id, score = result["match"]
            video = Video.objects.visible_to(request.user).select_related("owner").filter(id=video_id).first()
            # Details only for videos the caller may see; otherwise just that it was made here.
            if video is not None:
                body["video"] = {
                    "id": video.id, "creator_handle": video.owner.handle, "created_at": video.created_at,
                    "published_at": video.published_at, "match_score": score,
                    "lineage": [
                        {"id": v.id, "creator_handle": v.owner.handle}
                        for v in video_selectors.lineage_ancestors(viewer=request.user, video=video)
                    ],
                }  # fmt: skip
        if result["c2pa"]:
            manifest = result["c2pa"]
            body["c2pa"] = {
                "claim_generator": manifest["claim_generator"],
                "validation_state": manifest["validation_state"],
                "metadata": manifest["metadata"],
            }
        return Response(body)
