from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.responses import created
from backend.moderation import selectors, services
from backend.moderation.models import Case, Report


class ReportInput(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=Case.TargetType.choices)
    target_id = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReportOutput(serializers.ModelSerializer):
    target_type = serializers.CharField(source="case.target_type")
    target_id = serializers.IntegerField(source="case.target_id")

    class Meta:
        model = Report
        fields = ["id", "target_type", "target_id", "reason", "details", "created_at"]


class ReportView(APIView):
    throttle_scope = "reports"

    @extend_schema(request=ReportInput, responses={201: ReportOutput})
    def post(self, request):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_create(reporter=request.user, **data.validated_data)
        return created(request, ReportOutput(report).data, view_name="report", report_id=report.id)


class ReportDetailView(APIView):
    """One's own report, as filed (the ``Location`` of its 201)."""

    @extend_schema(responses=ReportOutput)
    def get(self, request, report_id: int):
        return Response(ReportOutput(selectors.report_of(reporter=request.user, report_id=report_id)).data)
