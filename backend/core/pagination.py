from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors, stable while new rows arrive: the default for every list.

    A view orders its list by ``-created_at`` unless it names another order in
    ``cursor_ordering`` (a tuple, or a method of the view taking the request).
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None)
        if callable(ordering):
            ordering = ordering(request)
        return tuple(ordering) if ordering else super().get_ordering(request, queryset, view)
