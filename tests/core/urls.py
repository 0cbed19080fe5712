"""Views that raise each kind of error, to prove they all share the envelope."""

from django.http import Http404
from django.urls import include, path
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import Conflict
from backend.urls import urlpatterns as real_urlpatterns


class Forbidden(APIView):
    def get(self, request):
        raise PermissionDenied()


class DjangoNotFound(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise Http404("gone")


class DomainConflict(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise Conflict("Already done.", code="already_done", details={"id": 7})


class Crash(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("a bug")


class Echo(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        return Response(request.data)


urlpatterns = [
    path(
        "api/v1/test/",
        include(
            [
                path("forbidden", Forbidden.as_view()),
                path("django-404", DjangoNotFound.as_view()),
                path("conflict", DomainConflict.as_view()),
                path("crash", Crash.as_view()),
                path("echo", Echo.as_view()),
            ]
        ),
    ),
    *real_urlpatterns,
]
handler404 = "backend.core.errors.not_found_view"
handler500 = "backend.core.errors.server_error_view"
