from __future__ import annotations

import io
import json

import django_filters
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import DomainError, Forbidden, NotFound, PayloadTooLarge
from backend.core.parsers import LimitedJSONParser, check_depth
from backend.core.responses import created
from backend.core.schema import error_codes
from backend.videos import selectors as video_selectors
from backend.videos.models import Video
from media import provenance_lookup, selectors, services
from media.models import RenderJob
from media.providers import cog, replicate
from media.services import predictions

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
            raise serializers.ValidationError(_("The reference image is too large."), code="file_too_large")
        return image


class RenderErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: why the render failed or was refused.")
    message = serializers.CharField()


class RenderJobOutput(serializers.ModelSerializer):
    cameo_ids = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField(help_text="Why it failed, was refused or cancelled; null otherwise.")

    class Meta:
        model = RenderJob
        fields = [
            "id", "kind", "status", "stage", "progress", "attempts", "error", "prompt", "duration_s", "aspect",
            "resolution", "cameo_ids", "source_video_id", "result_video_id", "provider",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_cameo_ids(self, job: RenderJob) -> list[int]:
        return sorted(cameo.id for cameo in job.cameos.all())

    @extend_schema_field(RenderErrorOutput(allow_null=True))
    def get_error(self, job: RenderJob) -> dict | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_text()}


RENDER_EXAMPLE_JOB = {
    "id": "0b9f6c1e-5d2a-4c55-9a51-3f1a2e7c9d10", "kind": "generate", "status": "queued", "stage": "", "progress": 0,
    "attempts": 0, "error": None, "prompt": "a cat skateboarding down a rainy street at dusk, neon reflections",
    "duration_s": 8, "aspect": "9:16", "resolution": "720p", "cameo_ids": [12], "source_video_id": None,
    "result_video_id": None, "provider": "preview", "created_at": "2026-11-30T18:04:11Z", "started_at": None,
    "finished_at": None,
}  # fmt: skip

# What a render or remix request may be refused with, beyond what every write may meet.
RENDER_REQUEST_ERRORS = {
    400: ["idempotency_key_required", "invalid_idempotency_key", "render_spec_refused", "file_too_large"],
    403: ["render_refused", "duration_over_tier_cap", "cameo_not_allowed", "reference_not_allowed",
          "prompt_blocked", "prompt_flagged", "character_not_allowed", "protected_likeness"],
    404: ["cameo_not_found"],
    409: ["idempotency_key_reused"],
    429: ["concurrent_render_limit", "daily_render_limit"],
}  # fmt: skip
RENDER_REQUEST_RESPONSES = {
    201: RenderJobOutput,
    200: OpenApiResponse(RenderJobOutput, description="A retry with the same Idempotency-Key: the same job."),
}


def idempotency_key_from(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise DomainError(
            _("Send an Idempotency-Key header with each render request."), code="idempotency_key_required"
        )
    if len(key) > 100 or not key.isprintable():
        raise DomainError(
            _("The Idempotency-Key must be at most 100 printable characters."), code="invalid_idempotency_key"
        )
    return key


def render_response(request, job: RenderJob, is_new: bool) -> Response:
    if is_new:
        return created(request, RenderJobOutput(job).data, view_name="render", render_id=job.id)
    return Response(RenderJobOutput(job).data)


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

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=RenderRequestInput,
        responses=RENDER_REQUEST_RESPONSES,
        extensions=error_codes(RENDER_REQUEST_ERRORS),
        examples=[
            OpenApiExample(
                "An 8 s portrait clip with my cameo",
                request_only=True,
                value={
                    "prompt": RENDER_EXAMPLE_JOB["prompt"],
                    "duration_s": 8,
                    "aspect": "9:16",
                    "resolution": "720p",
                    "cameo_ids": [12],
                },
            ),
            OpenApiExample("Queued", response_only=True, status_codes=["201"], value=RENDER_EXAMPLE_JOB),
        ],
    )
    def post(self, request):
        key = idempotency_key_from(request)
        data = RenderRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = services.render_job_request(requester=request.user, idempotency_key=key, **data.validated_data)
        return render_response(request, job, created)


class RenderDetailView(APIView):
    @extend_schema(responses=RenderJobOutput)
    def get(self, request, render_id):
        return Response(RenderJobOutput(selectors.render_job_of(user=request.user, job_id=render_id)).data)


class RenderCancelView(APIView):
    @extend_schema(request=None, responses=RenderJobOutput, extensions=error_codes({409: ["render_finished"]}))
    def post(self, request, render_id):
        job = selectors.render_job_of(user=request.user, job_id=render_id)
        return Response(RenderJobOutput(services.render_job_cancel(job=job)).data)


class RemixRequestInput(RenderRequestInput):
    """A remix sends the source's frames to the provider, so every cameo and character in the source
    travels into the remix and needs the remixer's own permission; ``cameo_ids`` adds more."""


class VideoRemixView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=RemixRequestInput,
        responses=RENDER_REQUEST_RESPONSES,
        extensions=error_codes(
            {**RENDER_REQUEST_ERRORS, 403: [*RENDER_REQUEST_ERRORS[403], "remix_disabled", "remix_not_allowed"]}
        ),
        examples=[
            OpenApiExample(
                "The same scene, at night",
                request_only=True,
                value={"prompt": "the same street at night, snow falling", "duration_s": 8},
            ),
            OpenApiExample(
                "Queued",
                response_only=True,
                status_codes=["201"],
                value={
                    **RENDER_EXAMPLE_JOB,
                    "kind": "remix",
                    "prompt": "the same street at night, snow falling",
                    "source_video_id": 481,
                },
            ),
        ],
    )
    def post(self, request, video_id: int):
        key = idempotency_key_from(request)
        data = RemixRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        source = video_selectors.video_visible_to(viewer=request.user, video_id=video_id)
        job, created = services.remix_request(requester=request.user, idempotency_key=key, source=source,
                                              **data.validated_data)  # fmt: skip
        return render_response(request, job, created)


class ProviderCallbackView(APIView):
    """Called by a render provider, not by a user: authenticated by what the request carries."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []


class CogWebhookParser(JSONParser):
    """JSON up to COG_WEBHOOK_MAX_BYTES: a Cog started without ``--upload-url`` sends its video inline."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.COG_WEBHOOK_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(
                _("Webhook bodies may be at most %(bytes)d bytes.") % {"bytes": limit}, details={"max_bytes": limit}
            )
        check_depth(raw)
        return super().parse(io.BytesIO(raw), media_type, parser_context)


def _content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class CogWebhookView(ProviderCallbackView):
    """Cog posts a prediction's state here; the signed token in the URL proves it is the prediction we started."""

    parser_classes = [CogWebhookParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={204: None}, exclude=True)
    def post(self, request, prediction_id: str):
        if cog.webhook_prediction_id(request.query_params.get("token", "")) != prediction_id:
            raise NotFound(_("No such prediction."))
        if _content_length(request) > settings.COG_WEBHOOK_MAX_BYTES:
            # The whole video came inline and will not fit: the job fails now, saying how to fix it,
            # rather than waiting for a result that can never be read.
            predictions.provider_prediction_record(
                provider=cog.NAME, prediction_id=prediction_id, status="failed",
                error="Cog sent its output inline and it is too large: start Cog with --upload-url (see README).",
            )  # fmt: skip
            raise PayloadTooLarge(_("The webhook body is too large."))
        if not isinstance(request.data, dict):
            raise DomainError(_("Expected a prediction object."), code="invalid_webhook")
        predictions.cog_webhook_receive(prediction_id=prediction_id, payload=request.data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CogUploadView(ProviderCallbackView):
    """Cog started with ``--upload-url`` PUTs each output file here (``{upload-url}/{filename}``).

    The token in the path is this deployment's (``manage.py cog_upload_url``); the body is streamed
    into private storage, at most COG_UPLOAD_MAX_BYTES, and the answer's ``Location`` is what Cog
    puts in the prediction's ``output``: the webhook then binds the file to its prediction.
    """

    parser_classes: list = []  # the body is a file, read as a stream

    @extend_schema(request=OpenApiTypes.BINARY, responses={201: None}, exclude=True)
    def put(self, request, token: str, filename: str):
        if not cog.upload_token_valid(token):
            raise NotFound(_("No such upload URL."))
        length, limit = _content_length(request), settings.COG_UPLOAD_MAX_BYTES
        if length > limit:
            raise PayloadTooLarge(
                _("Uploads may be at most %(bytes)d bytes.") % {"bytes": limit}, details={"max_bytes": limit}
            )
        if length == 0:
            raise DomainError(_("Send the file as the body, with its Content-Length."), code="empty_upload")
        try:
            name = cog.upload_store(request.stream, filename=filename, length=length)
        except ValueError as error:
            raise DomainError(str(error), code="incomplete_upload") from error
        response = Response(status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(cog.upload_location(name))
        return response


class ReplicateWebhookView(ProviderCallbackView):
    """Replicate posts its predictions' states here, signed (https://replicate.com/docs/topics/webhooks/verify-webhook)."""

    parser_classes: list = []  # the signature covers the raw body: it is read as bytes

    @extend_schema(request=OpenApiTypes.OBJECT, responses={204: None}, exclude=True)
    def post(self, request):
        secret = settings.RENDER_PROVIDER_OPTIONS.get(replicate.NAME, {}).get("webhook_signing_secret", "")
        body = request.body
        if not replicate.webhook_signature_valid(headers=request.headers, body=body, secret=secret):
            raise Forbidden(_("The webhook signature is missing, wrong or too old."), code="invalid_webhook_signature")
        check_depth(body)
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise DomainError(_("Expected a prediction object."), code="invalid_webhook") from error
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise DomainError(_("Expected a prediction object."), code="invalid_webhook")
        job_key = replicate.webhook_job_key(request.query_params.get("job", ""))
        predictions.replicate_webhook_receive(payload=payload, job_key=job_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProvenanceLookupInput(serializers.Serializer):
    file = serializers.FileField()


class ProvenanceLineageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    creator_handle = serializers.CharField()


class ProvenanceVideoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    creator_handle = serializers.CharField()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    match_score = serializers.FloatField(help_text="How closely the upload matches the video's fingerprint.")
    lineage = ProvenanceLineageOutput(many=True, help_text="Its ancestors you may see, up to the root.")


class C2paMetadataOutput(serializers.Serializer):
    """What this service writes into the content credentials of a video it made; only the keys the
    file carries (a file made elsewhere may carry none of them)."""

    render_id = serializers.CharField(required=False)
    creator = serializers.CharField(required=False)
    prompt_sha256 = serializers.CharField(required=False)
    cameo_ids = serializers.ListField(child=serializers.CharField(), required=False)
    parent_video_id = serializers.CharField(required=False, allow_null=True)
    provider = serializers.CharField(required=False)

    def to_representation(self, instance):
        return {key: value for key, value in super().to_representation(instance).items() if key in instance}


class C2paOutput(serializers.Serializer):
    claim_generator = serializers.CharField(allow_null=True)
    validation_state = serializers.CharField(
        allow_null=True, help_text="`Trusted` when signed by a certificate this service trusts."
    )
    metadata = C2paMetadataOutput(allow_null=True)


class ProvenanceLookupOutput(serializers.Serializer):
    made_here = serializers.BooleanField()
    video = ProvenanceVideoOutput(allow_null=True, help_text="The video it matches, if you may see it.")
    c2pa = C2paOutput(allow_null=True, help_text="The file's content credentials, if it carries any.")


def _c2pa_metadata(raw: object) -> dict | None:
    """The known keys of a manifest's metadata, as text: the file is untrusted and may hold anything."""
    if not isinstance(raw, dict):
        return None
    keys = [field for field in C2paMetadataOutput().fields if field in raw]
    metadata = {key: None if raw[key] is None else str(raw[key]) for key in keys if key != "cameo_ids"}
    if "cameo_ids" in raw:
        metadata["cameo_ids"] = [str(item) for item in raw["cameo_ids"]] if isinstance(raw["cameo_ids"], list) else []
    return metadata


class ProvenanceLookupView(APIView):
    """Upload a clip or a frame: was it made here, by whom, when, from what."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "provenance"

    @extend_schema(
        request=ProvenanceLookupInput,
        responses=ProvenanceLookupOutput,
        extensions=error_codes({400: ["unreadable_media"]}),
    )
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
                "metadata": _c2pa_metadata(manifest["metadata"]),
            }
        return Response(ProvenanceLookupOutput(body).data)
