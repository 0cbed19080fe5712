from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors, stable while new rows arrive: the default for every list."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"
