import re

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import DomainError
from backend.core.schema import error_codes
from backend.rights import selectors
from backend.rights.models import Character


class CharacterOutput(serializers.ModelSerializer):
    holder = serializers.CharField(source="holder.name")
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = Character
        fields = ["id", "name", "aliases", "holder", "allowed", "scope", "restrictions", "needs_approval",
                  "revenue_share_bps"]  # fmt: skip

    def get_aliases(self, character) -> list[str]:
        return character.terms[1:]


class CharacterListView(ListAPIView):
    """Characters of rights holders and how they may be used."""

    permission_classes = [AllowAny]
    serializer_class = CharacterOutput
    queryset = Character.objects.select_related("holder")
    cursor_ordering = ("name", "id")


class StatementOutput(serializers.Serializer):
    """Amounts in minor units (cents), by ISO 4217 currency code."""

    period = serializers.CharField(help_text="YYYY-MM")
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="Currency -> amount owed.")
    per_video = serializers.DictField(
        child=serializers.DictField(child=serializers.DictField(child=serializers.IntegerField())),
        help_text="Video id -> currency -> party (creator, remixed author...) -> amount.",
    )
    per_character = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Character name -> currency -> amount owed to its rights holder.",
    )


class StatementView(APIView):
    """What I (and the rights holders I belong to) earned in a month; ``?export=csv`` to export."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True, description="YYYY-MM"),
            OpenApiParameter("export", enum=["csv"]),
        ],
        responses={(200, "application/json"): StatementOutput, (200, "text/csv"): OpenApiTypes.STR},
        extensions=error_codes({400: ["invalid_period"]}),
    )
    def get(self, request):
        period = request.query_params.get("period", "")
        match = re.fullmatch(r"(\d{4})-(\d{2})", period)
        # The ledger starts long after 1970; 9998-12 is the last month whose end a datetime holds.
        if not match or not 1970 <= int(match[1]) <= 9998 or not 1 <= int(match[2]) <= 12:
            raise DomainError(_("Give the period as YYYY-MM, a month from 1970-01."), code="invalid_period")
        data = selectors.statement(user=request.user, year=int(match[1]), month=int(match[2]))
        if request.query_params.get("export") == "csv":
            response = HttpResponse(selectors.statement_csv(data), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="remix-statement-{period}.csv"'
            return response
        return Response(StatementOutput(data).data)
