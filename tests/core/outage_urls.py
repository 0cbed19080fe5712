"""Views that need a store outside DRF and inside it, to prove an outage is a 503 on both paths."""

from django.http import JsonResponse
from django.urls import path
from django_redis import get_redis_connection
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.creators.models import User
from backend.urls import urlpatterns as real_urlpatterns


def plain_django_view(request):
    """Not DRF: an error here takes Django's own 500 path (handler500), like a middleware's."""
    return JsonResponse({"users": User.objects.count()})


class DatabaseMiddleware:
    """Reads the database before any view, as authentication or a session lookup would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        User.objects.exists()
        return self.get_response(request)


class RedisView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"pong": get_redis_connection("default").ping()})


urlpatterns = [
    path("api/v1/test/plain-django", plain_django_view),
    path("api/v1/test/redis", RedisView.as_view()),
    path("test/plain-django", plain_django_view),
    *real_urlpatterns,
]
handler500 = "backend.core.errors.server_error_view"
