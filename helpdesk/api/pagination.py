from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class DeskPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M up to 200, default 50)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
