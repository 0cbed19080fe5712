from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.cameos import selectors, services
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification, Upload
from backend.cameos.services import direct_uploads
from backend.core.conditional import conditional_read
from backend.core.errors import NotFound
from backend.core.parsers import LimitedJSONParser
from backend.core.private_media import media_file_url
from backend.core.responses import created
from backend.core.schema import error_codes

# --- Serializers -----------------------------------------------------------------


class CameoCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Cameo.Kind.choices)
    display_name = serializers.CharField(max_length=60)
    audience = serializers.ChoiceField(choices=Cameo.Audience.choices, default=Cameo.Audience.ONLY_ME)
    appearance_notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    restrictions = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reference_image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP; re-encoded, EXIF dropped.")
    reference_clip = serializers.FileField(required=False, help_text="A video of 3 to 30 seconds (sound optional).")
    voice_sample = serializers.FileField(required=False, help_text="A recording of the voice, 3 to 60 seconds.")
    # Each file may come instead as a verified direct upload (POST /api/v1/uploads): large files go
    # straight to storage, not through this request.
    reference_image_upload_id = serializers.UUIDField(required=False)
    reference_clip_upload_id = serializers.UUIDField(required=False)
    voice_sample_upload_id = serializers.UUIDField(required=False)


class CameoUpdateInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=60, required=False)
    audience = serializers.ChoiceField(choices=Cameo.Audience.choices, required=False)
    appearance_notes = serializers.CharField(max_length=500, required=False, allow_blank=True)
    restrictions = serializers.CharField(max_length=500, required=False, allow_blank=True)
    reference_image = serializers.FileField(required=False)
    reference_clip = serializers.FileField(required=False)
    voice_sample = serializers.FileField(required=False)
    reference_image_upload_id = serializers.UUIDField(required=False)
    reference_clip_upload_id = serializers.UUIDField(required=False)
    voice_sample_upload_id = serializers.UUIDField(required=False)


class CameoOutput(serializers.ModelSerializer):
    owner_handle = serializers.CharField(source="owner.handle")

    class Meta:
        model = Cameo
        fields = ["id", "owner_handle", "kind", "display_name", "status", "audience", "created_at"]


class OwnCameoOutput(CameoOutput):
    """What the owner sees: settings and short-lived links to the private media."""

    reference_image_url = serializers.SerializerMethodField(help_text="Short-lived signed link, or null.")
    reference_clip_url = serializers.SerializerMethodField(help_text="Short-lived signed link, or null.")
    voice_sample_url = serializers.SerializerMethodField(help_text="Short-lived signed link, or null.")

    class Meta(CameoOutput.Meta):
        fields = [*CameoOutput.Meta.fields, "appearance_notes", "restrictions", "status_reason", "verified_at",
                  "reference_image_url", "reference_clip_url", "voice_sample_url"]  # fmt: skip

    def get_reference_image_url(self, cameo: Cameo) -> str | None:
        return media_file_url(cameo.reference_image, public=False)

    def get_reference_clip_url(self, cameo: Cameo) -> str | None:
        return media_file_url(cameo.reference_clip, public=False)

    def get_voice_sample_url(self, cameo: Cameo) -> str | None:
        return media_file_url(cameo.voice_sample, public=False)


def cameo_body(cameo: Cameo, viewer) -> dict:
    output = OwnCameoOutput if cameo.owner_id == viewer.id else CameoOutput
    return output(cameo).data


class VerificationInput(serializers.Serializer):
    challenge_id = serializers.IntegerField(required=False)
    clip = serializers.FileField(required=False)
    clip_upload_id = serializers.UUIDField(required=False, help_text="A verified verification_clip upload.")

    def validate(self, data):
        if ("clip" in data or "clip_upload_id" in data) != ("challenge_id" in data):
            raise serializers.ValidationError(_("Send both challenge_id and clip to answer, or neither to get one."))
        return data


class VerificationOutput(serializers.ModelSerializer):
    challenge_id = serializers.IntegerField(source="id")

    class Meta:
        model = CameoVerification
        fields = ["challenge_id", "phrase", "expires_at", "status", "submitted_at", "review_note"]


class GrantOutput(serializers.ModelSerializer):
    grantee_handle = serializers.CharField(source="grantee.handle")

    class Meta:
        model = CameoGrant
        fields = ["id", "cameo_id", "grantee_handle", "status", "requested_at", "decided_at", "revoked_at"]


class AppearanceOutput(serializers.ModelSerializer):
    video_id = serializers.IntegerField()
    video_status = serializers.CharField(source="video.status")
    video_owner_handle = serializers.CharField(source="video.owner.handle")
    prompt = serializers.CharField(source="video.prompt")

    class Meta:
        model = Appearance
        fields = ["video_id", "video_status", "video_owner_handle", "prompt", "created_at", "removed_by_owner_at"]


# --- Views -----------------------------------------------------------------------

UPLOAD_PARSERS = [LimitedJSONParser, MultiPartParser, FormParser]

# A file field, and the kinds of direct upload that may stand in for it (``<field>_upload_id``).
_UPLOAD_KINDS = {
    "reference_image": {Upload.Kind.REFERENCE_IMAGE},
    "reference_clip": {Upload.Kind.REFERENCE_CLIP, Upload.Kind.CAMEO_CLIP},
    "voice_sample": {Upload.Kind.VOICE_SAMPLE},
    "clip": {Upload.Kind.VERIFICATION_CLIP, Upload.Kind.CAMEO_CLIP},
}


@contextmanager
def files_from_uploads(request, data: dict) -> Iterator[dict]:
    """``data`` with each ``<field>_upload_id`` replaced by that verified upload's file, open while the service
    runs; the uploads are used up when it succeeds."""
    with ExitStack() as stack:
        resolved = dict(data)
        for field, kinds in _UPLOAD_KINDS.items():
            upload_id = resolved.pop(f"{field}_upload_id", None)
            if upload_id is None:
                continue
            if field in resolved:
                raise serializers.ValidationError({field: [_("Send the file or an upload id, not both.")]})
            resolved[field] = stack.enter_context(
                direct_uploads.upload_open(owner=request.user, upload_id=upload_id, kinds=kinds)
            )
        yield resolved


# What a file (or a direct upload naming one) may be refused with (backend/cameos/uploads.py).
UPLOAD_ERRORS = [
    "invalid_upload", "empty_file", "truncated", "not_a_video", "not_audio", "no_audio", "too_short", "too_long",
    "resolution_too_high", "invalid_image", "upload_wrong_kind", "upload_rejected",
]  # fmt: skip


class CameoListCreateView(ListAPIView):
    serializer_class = OwnCameoOutput
    parser_classes = UPLOAD_PARSERS
    queryset = Cameo.objects.none()  # for the schema

    def get_queryset(self):
        return selectors.cameos_of(owner=self.request.user).select_related("owner")

    @extend_schema(
        request=CameoCreateInput,
        responses={201: OwnCameoOutput},
        extensions=error_codes(
            {
                400: ["character_quota", *UPLOAD_ERRORS],
                403: ["protected_likeness"],
                404: ["not_found"],
                409: ["person_cameo_exists", "upload_not_verified"],
                413: ["file_too_large"],
            }
        ),
        examples=[
            OpenApiExample(
                "A character anyone I approve may use",
                request_only=True,
                value={
                    "kind": "character",
                    "display_name": "Captain Whiskers",
                    "audience": "approved",
                    "appearance_notes": "an orange tabby in a tiny red cape",
                    "restrictions": "never drinking",
                },
            ),
            OpenApiExample(
                "Created",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 12,
                    "owner_handle": "maya",
                    "kind": "character",
                    "display_name": "Captain Whiskers",
                    "status": "active",
                    "audience": "approved",
                    "created_at": "2026-11-30T18:02:00Z",
                    "appearance_notes": "an orange tabby in a tiny red cape",
                    "restrictions": "never drinking",
                    "status_reason": "",
                    "verified_at": None,
                    "reference_image_url": None,
                    "reference_clip_url": None,
                    "voice_sample_url": None,
                },
            ),
        ],
    )
    def post(self, request):
        data = CameoCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        with files_from_uploads(request, data.validated_data) as fields:
            cameo = services.cameo_create(owner=request.user, **fields)
        return created(request, OwnCameoOutput(cameo).data, view_name="cameo", cameo_id=cameo.id)


class CameoAvailableView(ListAPIView):
    """Cameos the caller may use in a render right now (own ones included)."""

    serializer_class = CameoOutput
    queryset = Cameo.objects.none()  # for the schema

    def get_queryset(self):
        return selectors.cameos_usable_by(user=self.request.user)


class CameoDetailView(APIView):
    parser_classes = UPLOAD_PARSERS

    # Not a oneOf: the owner's body is a superset of what others see, so it would match both.
    @extend_schema(
        responses=OpenApiResponse(
            CameoOutput, description="What others see; the owner also gets the fields of OwnCameoOutput."
        )
    )
    @conditional_read
    def get(self, request, cameo_id: int):
        return Response(cameo_body(selectors.cameo_visible_to(viewer=request.user, cameo_id=cameo_id), request.user))

    @extend_schema(request=CameoUpdateInput, responses=OwnCameoOutput)
    def patch(self, request, cameo_id: int):
        cameo = selectors.cameo_owned_by(owner=request.user, cameo_id=cameo_id)
        data = CameoUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        with files_from_uploads(request, data.validated_data) as fields:
            cameo = services.cameo_update(cameo=cameo, by=request.user, **fields)
        return Response(OwnCameoOutput(cameo).data)

    @extend_schema(responses={204: None})
    def delete(self, request, cameo_id: int):
        cameo = selectors.cameo_owned_by(owner=request.user, cameo_id=cameo_id)
        services.cameo_delete(cameo=cameo, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CameoVerificationView(APIView):
    """POST without a clip: get the challenge. POST the challenge id and the clip: answer it."""

    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        request=VerificationInput,
        responses={200: VerificationOutput, 201: VerificationOutput},
        extensions=error_codes(
            {
                400: ["challenge_expired", *UPLOAD_ERRORS],
                409: ["challenge_used", "verification_not_needed"],
                413: ["file_too_large"],
            }
        ),
    )
    def post(self, request, cameo_id: int):
        cameo = selectors.cameo_owned_by(owner=request.user, cameo_id=cameo_id)
        data = VerificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "challenge_id" not in data.validated_data:
            challenge = services.verification_challenge(cameo=cameo, by=request.user)
            return Response(VerificationOutput(challenge).data)
        with files_from_uploads(request, data.validated_data) as fields:
            verification = services.verification_submit(
                cameo=cameo, by=request.user, challenge_id=fields["challenge_id"], clip=fields["clip"]
            )
        body = VerificationOutput(verification).data
        return created(request, body, view_name="cameo-verification", cameo_id=cameo.id)


class CameoGrantsView(ListAPIView):
    """GET: the owner lists grants. POST: someone else asks for access."""

    serializer_class = GrantOutput
    queryset = CameoGrant.objects.none()  # for the schema
    cursor_ordering = ("-requested_at", "-id")

    @property
    def throttle_scope(self) -> str | None:  # asking for access is throttled, the owner's list is not
        return "grant_requests" if self.request.method == "POST" else None

    def get_queryset(self):
        cameo = selectors.cameo_owned_by(owner=self.request.user, cameo_id=self.kwargs["cameo_id"])
        return selectors.grants_of(cameo=cameo)

    @extend_schema(
        request=None,
        responses={201: GrantOutput, 200: GrantOutput},
        description="Ask for access (201). Asking again returns the same request, in whatever state it is (200).",
        extensions=error_codes({409: ["blocked"]}),
    )
    def post(self, request, cameo_id: int):
        cameo = selectors.cameo_requestable_by(user=request.user, cameo_id=cameo_id)
        existed = selectors.grant_for(cameo=cameo, user=request.user) is not None
        grant = services.grant_request(cameo=cameo, by=request.user)
        if existed:
            return Response(GrantOutput(grant).data)
        # No URL reads one grant: the owner's list of the cameo's grants holds it.
        return created(request, GrantOutput(grant).data, view_name="cameo-grants", cameo_id=cameo.id)


class GrantDecisionView(APIView):
    decision = ""  # approve, deny or revoke, set per route

    @extend_schema(request=None, responses=GrantOutput, extensions=error_codes({409: ["grant_approved"]}))
    def post(self, request, cameo_id: int, grant_id: int):
        cameo = selectors.cameo_owned_by(owner=request.user, cameo_id=cameo_id)
        grant = cameo.grants.filter(id=grant_id).first()
        if grant is None:
            raise NotFound(_("No such grant."))
        decide = {"approve": services.grant_approve, "deny": services.grant_deny, "revoke": services.grant_revoke}
        return Response(GrantOutput(decide[self.decision](grant=grant, by=request.user)).data)


class CameoAppearancesView(ListAPIView):
    serializer_class = AppearanceOutput
    queryset = Appearance.objects.none()  # for the schema

    def get_queryset(self):
        cameo = selectors.cameo_owned_by(owner=self.request.user, cameo_id=self.kwargs["cameo_id"])
        return selectors.appearances_for_owner(cameo=cameo)


class CameoAppearanceDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, cameo_id: int, video_id: int):
        cameo = selectors.cameo_owned_by(owner=request.user, cameo_id=cameo_id)
        services.appearance_remove(cameo=cameo, by=request.user, video_id=video_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Direct uploads -----------------------------------------------------------------------------------


class UploadRequestInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Upload.Kind.choices)
    content_type = serializers.CharField(max_length=100)
    size = serializers.IntegerField(min_value=1, help_text="Bytes: the most the upload will accept.")


class UploadOutput(serializers.ModelSerializer):
    class Meta:
        model = Upload
        fields = ["id", "kind", "status", "reason", "content_type", "size", "created_at", "verified_at"]


class UploadPartInput(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = serializers.CharField(max_length=200)


class UploadCompleteInput(serializers.Serializer):
    parts = UploadPartInput(many=True, required=False, max_length=10_000)


class UploadsView(APIView):
    """Ask to upload a file straight to storage. The answer's ``upload`` says how: a form to POST (its
    ``fields``, then the file as ``file_field``, last) or, above 20 MB, ``parts`` to PUT one by one (each
    answers an ETag); then ``POST uploads/{id}/complete``. A worker then checks the file: poll
    ``uploads/{id}`` until ``verified`` (or ``rejected``, with a reason) and send its id where a file goes."""

    throttle_scope = "uploads"

    @extend_schema(request=UploadRequestInput, responses={201: UploadOutput})
    def post(self, request):
        data = UploadRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload, instructions = direct_uploads.upload_request(owner=request.user, **data.validated_data)
        body = {**UploadOutput(upload).data, "upload": instructions}
        return created(request, body, view_name="upload", upload_id=upload.id)


class UploadDetailView(APIView):
    @extend_schema(responses=UploadOutput)
    def get(self, request, upload_id):
        return Response(UploadOutput(direct_uploads.upload_of(owner=request.user, upload_id=upload_id)).data)


class UploadCompleteView(APIView):
    @extend_schema(request=UploadCompleteInput, responses=UploadOutput)
    def post(self, request, upload_id):
        data = UploadCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = direct_uploads.upload_complete(
            owner=request.user, upload_id=upload_id, parts=data.validated_data.get("parts")
        )
        return Response(UploadOutput(upload).data)


class UploadFileView(APIView):
    """The local disk's stand-in for S3's form endpoint (no S3 configured): the form's token is the credential."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    parser_classes = [MultiPartParser]

    @extend_schema(exclude=True)
    def post(self, request, upload_id):
        file = request.FILES.get("file")
        if file is None:
            raise serializers.ValidationError({"file": [_("Send the file as the form's last field.")]})
        content_type = request.data.get("Content-Type") or file.content_type
        direct_uploads.upload_receive(
            upload_id=upload_id, token=str(request.data.get("token", "")), file=file, content_type=content_type
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
