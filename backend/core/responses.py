"""Responses every API shares."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import status
from rest_framework.response import Response


def created(request, data, *, view_name: str, **kwargs) -> Response:
    """A 201 whose ``Location`` is the absolute URL of what was created (RFC 9110 §15.3.2)."""
    response = Response(data, status=status.HTTP_201_CREATED)
    response["Location"] = request.build_absolute_uri(reverse(view_name, kwargs=kwargs))
    return response
