"""Histogram buckets of the two durations, as database expressions (summary, selection, indexes)."""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, Case, Count, F, Func, Index, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast, Round
from django.db.models.lookups import LessThan

from helpdesk.metrics.base import first_response_seconds, resolution_seconds
from helpdesk.models.figures import DURATION_KINDS, HISTOGRAM_BUCKETS, HISTOGRAM_EDGES, histogram_field

# The field that is set whenever the duration is (the partial indexes' condition).
_PRESENT = {"fr": "first_response_at", "res": "responded_at"}


def value_expression(kind: str) -> Any:
    return first_response_seconds() if kind == "fr" else resolution_seconds()


class Bucket(Func):
    """The histogram bucket of a duration (not null): 0 below 0 s, i for [EDGES[i-1], EDGES[i]),
    ``len(EDGES)`` from the last edge on. PostgreSQL's ``width_bucket`` numbers buckets exactly so
    (a binary search); elsewhere the same as a CASE."""

    arity = 1
    output_field = IntegerField()
    template = "width_bucket(%(expressions)s, '{" + ",".join(repr(e) for e in HISTOGRAM_EDGES) + "}'::float8[])"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        whens = [When(LessThan(self.source_expressions[0], Value(edge)), then=Value(i))
                 for i, edge in enumerate(HISTOGRAM_EDGES)]
        case = Case(*whens, default=Value(len(HISTOGRAM_EDGES)), output_field=IntegerField())
        return compiler.compile(case.resolve_expression(compiler.query))


def bucket_expression(value: Any) -> Bucket:
    return Bucket(value)


def bucket_q(name: str, i: int) -> Q:
    """``bucket_expression(name) == i`` as a filter on an annotation (null never matches)."""
    if i == 0:
        return Q(**{f"{name}__lt": HISTOGRAM_EDGES[0]})
    q = Q(**{f"{name}__gte": HISTOGRAM_EDGES[i - 1]})
    return q & Q(**{f"{name}__lt": HISTOGRAM_EDGES[i]}) if i < len(HISTOGRAM_EDGES) else q


def _histogram_aggregates() -> dict[str, Any]:
    return {histogram_field(kind, i): Count("pk", filter=bucket_q(f"_{kind}", i))
            for kind in DURATION_KINDS for i in range(HISTOGRAM_BUCKETS)}


def _micros(name: str) -> Any:
    """Sum of a duration in whole microseconds (the timestamps' resolution): integer sums are exact."""
    return Sum(Cast(Round(Value(1_000_000.0) * F(name)), BigIntegerField()))


def summary_indexes() -> list[Index]:
    """PostgreSQL indexes that let the percentile selection read only its buckets (index-only)."""
    common = ["request_type", "assignee", "channel"]
    return [
        Index(bucket_expression(first_response_seconds()), "received_at", name="ticket_fr_bucket",
              include=[*common, "first_response_at"], condition=Q(first_response_at__isnull=False)),
        Index(bucket_expression(resolution_seconds()), "received_at", name="ticket_res_bucket",
              include=[*common, "responded_at", "active_seconds", "paused_seconds"],
              condition=Q(responded_at__isnull=False)),
    ]


