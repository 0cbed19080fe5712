"""``/me`` with DELETE (the account's deletion), and ``/me/exports``: the person's own data, nobody else's."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core import storage
from backend.creators import services as creator_services
from backend.creators.api import MeView as CreatorMeView
from data_rights import selectors, services
from data_rights.models import DataExport


class AccountDeleteInput(serializers.Serializer):
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class MeView(CreatorMeView):
    """Own profile; DELETE asks for the account's deletion (``creators`` stays unaware of data_rights)."""

    @extend_schema(request=AccountDeleteInput, responses={204: None})
    def delete(self, request):
        """The account is deactivated at once and purged after ACCOUNT_PURGE_DAYS; signing in before restores it."""
        data = AccountDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        creator_services.account_deletion_request(user=request.user, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class DataExportOutput(serializers.ModelSerializer):
    class Meta:
        model = DataExport
        fields = ["id", "status", "size_bytes", "created_at", "finished_at", "expires_at"]


class ExportListCreateView(generics.ListAPIView):
    """Own exports, newest first; POST asks for a new one (the link comes by mail when it is ready)."""

    serializer_class = DataExportOutput
    queryset = DataExport.objects.none()  # for the schema; get_queryset gives the real one

    def get_queryset(self):
        return selectors.exports_of(user=self.request.user)

    @extend_schema(request=None, responses={202: DataExportOutput})
    def post(self, request):
        export = services.export_request(user=request.user)
        return Response(DataExportOutput(export).data, status=status.HTTP_202_ACCEPTED)


class ExportDownloadView(APIView):
    """The zip, for its owner, with the token of the mailed link (valid DATA_EXPORT_LINK_DAYS)."""

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, export_id: int):
        token = request.query_params.get("token", "")
        export = selectors.export_for_download(viewer=request.user, export_id=export_id, token=token)
        response = FileResponse(
            storage.private().open(export.file_name, "rb"),
            content_type="application/zip",
            as_attachment=True,
            filename=f"remix-export-{export.id}.zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response
