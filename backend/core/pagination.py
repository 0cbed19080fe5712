"""One pagination shape for every list of the API: ``{"results": [...], "next": <cursor or null>}``.

``next`` is an opaque, signed cursor (``backend.core.cursors``), never a URL: the client sends it back
as ``?cursor=`` with the rest of its query unchanged, and it is null on the last page. A list may add
totals of its own beside the two keys (the remix subtree's ``descendant_count``, the inbox's
``unread_count``). A cursor that was not made here, was tampered with, or belongs to another list or
order is a 400 ``invalid_cursor``.

``CursorPagination`` is the default of every ``ListAPIView``; lists paginated by hand (the feed, the inbox,
lineage) build their body with ``page_body`` and their schema with ``page_serializer``, and read the
page size with ``page_size_from`` so ``?page_size=`` means the same everywhere.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import pagination, serializers
from rest_framework.response import Response

from backend.core.cursors import InvalidCursor, cursor_read, cursor_sign

PAGE_SIZE = 20
PAGE_SIZE_PARAM = "page_size"
MAX_PAGE_SIZE = 100
CURSOR_PARAM = "cursor"
NEXT_HELP = "The cursor of the next page (send it back as `cursor`); null on the last page."
CURSOR_HELP = "`next` of the previous page; none for the first page."
PAGE_SIZE_HELP = f"Items per page, at most {MAX_PAGE_SIZE}."
# The query of a list paginated by hand, for its schema (DRF's paginator documents its own alike).
CURSOR_PARAMETER = OpenApiParameter(CURSOR_PARAM, str, description=CURSOR_HELP)
PAGE_PARAMETERS = [CURSOR_PARAMETER, OpenApiParameter(PAGE_SIZE_PARAM, int, description=PAGE_SIZE_HELP)]
_SALT = "core.pagination"


def page_body(results: list, next_cursor: str | None, **totals) -> dict:
    """The body of a page of a list paginated by hand: its results, the cursor of the next page, its totals."""
    return {"results": results, "next": next_cursor, **totals}


def page_serializer(name: str, item: serializers.Serializer, **extra_fields) -> serializers.Serializer:
    """The schema of a page of ``item``s (a serializer instance, ``many=True``), with a list's own totals."""
    fields = {"results": item, "next": serializers.CharField(allow_null=True, help_text=NEXT_HELP), **extra_fields}
    return inline_serializer(name, fields)


def page_size_from(request, *, default: int = PAGE_SIZE) -> int:
    """``?page_size=`` as every list reads it: a positive integer up to MAX_PAGE_SIZE, else ``default``."""
    try:
        size = int(request.query_params.get(PAGE_SIZE_PARAM, ""))
    except ValueError:
        return default
    return min(size, MAX_PAGE_SIZE) if size > 0 else default


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors, stable while new rows arrive: the default for every list.

    A view orders its list by ``-created_at`` unless it names another order in
    ``cursor_ordering`` (a tuple, or a method of the view taking the request).

    DRF's cursor is base64 a client can forge (a position of the wrong type is a 500 in the query); ours is
    signed for the list's path and order, and only moves forward (no ``previous``: the apps scroll one way).
    """

    page_size = PAGE_SIZE
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = CURSOR_PARAM
    cursor_query_description = CURSOR_HELP
    page_size_query_description = PAGE_SIZE_HELP
    ordering = ("-created_at", "-id")
    template = None  # the browsable API shows no page links: ``next`` is not a URL

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None)
        if callable(ordering):
            ordering = ordering(request)
        return tuple(ordering) if ordering else super().get_ordering(request, queryset, view)

    def get_page_size(self, request):
        return page_size_from(request, default=self.page_size)

    def _salt(self) -> str:
        # A cursor holds a position in one order of one list: bound to both, it cannot be replayed elsewhere.
        return f"{_SALT}:{self.request.path}:{','.join(self.ordering)}"

    def decode_cursor(self, request):
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return None
        payload = cursor_read(token, salt=self._salt())
        if not (isinstance(payload, list) and len(payload) == 2):
            raise InvalidCursor()
        offset, position = payload
        if not (isinstance(offset, int) and 0 <= offset <= self.offset_cutoff):
            raise InvalidCursor()
        if position is not None and not isinstance(position, str):
            raise InvalidCursor()
        return pagination.Cursor(offset=offset, reverse=False, position=position)

    def encode_cursor(self, cursor):
        return cursor_sign([cursor.offset, cursor.position], salt=self._salt())

    def get_paginated_response(self, data):
        return Response(page_body(data, self.get_next_link()))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "description": NEXT_HELP},
            },
        }
