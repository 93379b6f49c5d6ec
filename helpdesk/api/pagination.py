from __future__ import annotations

import contextlib
from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

# Counting stops here: an exact COUNT(*) over a million tickets cost more than the page itself.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most ``max(COUNT_CAP, rows up to the requested page) + 1`` rows.

    ``count`` is then exact when below that limit; otherwise it is a lower bound (``count_exact``
    false) that still leaves the requested page and a "next" link valid. One query either way:
    ``SELECT COUNT(*) FROM (SELECT ... LIMIT n)``.
    """

    _wanted_rows = 0

    def validate_number(self, number: Any) -> int:
        with contextlib.suppress(TypeError, ValueError):  # super() reports the bad number
            # Bounded: a LIMIT beyond 64 bits fails in the database instead of giving a 404.
            self._wanted_rows = min(max(0, int(number)) * int(self.per_page), 2**62)
        return super().validate_number(number)

    @cached_property
    def count(self) -> int:
        limit = max(COUNT_CAP, self._wanted_rows) + 1
        objects: Any = self.object_list  # a QuerySet for every paginated view here
        counted: int = objects.order_by()[:limit].count()
        self.count_exact = counted < limit
        return counted

    count_exact = True


class DeskPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M up to 200, default 50); ``count`` exact up to 10,000 rows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        return Response({
            "count": paginator.count,
            "count_exact": getattr(paginator, "count_exact", True),
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"Number of results; a lower bound when `count_exact` is false (more than {COUNT_CAP:,} results).")
        response["properties"] = {
            "count": response["properties"]["count"],
            "count_exact": {"type": "boolean", "example": True,
                            "description": "False when counting stopped early: `count` is then a lower bound."},
            **{k: v for k, v in response["properties"].items() if k != "count"},
        }
        response["required"] = [*response.get("required", []), "count_exact"]
        return response
