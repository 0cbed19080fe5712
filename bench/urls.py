"""The production routes plus a trivial authenticated DRF endpoint to compare against."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.urls import *  # noqa: F403
from backend.urls import urlpatterns as production_urlpatterns


class Ping(APIView):
    """Authenticated (JWT) and throttled like every API view, and does nothing else."""

    def get(self, request):
        return Response({"user": request.user.id})


urlpatterns = [path("bench/ping", Ping.as_view()), *production_urlpatterns]
