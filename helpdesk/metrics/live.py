"""The figures computed straight from the tickets: the reference definition, used on SQLite, for a
restricted base queryset, and whenever the summary cannot be read consistently."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import TruncWeek

from helpdesk.metrics.base import (
    _BUCKETS,
    _DISTRIBUTION_BUCKETS,
    DAY,
    DISTRIBUTION_EDGES_DAYS,
    PERCENTILES,
    MetricsFilter,
    _cohort_group_aggregates,
    _distribution_aggregates,
    _window_percentiles,
    cohort,
    first_response_seconds,
    resolution_seconds,
)
from helpdesk.metrics.report import Inputs, open_rows, rollup
from helpdesk.models import Ticket
from workflows.calendar import desk_tz


def _pg_percentiles(qs: QuerySet[Ticket]) -> tuple[dict[str, dict[Any, dict[str, Any]]], dict[str, int]]:
    """Median and p90 of both durations, overall and per request type, and the overall histogram,
    in one PostgreSQL query.

    ``percentile_cont(ARRAY[...])`` sorts each group once for all the fractions; ``GROUPING SETS``
    gives the overall and per-type figures from a single scan. ``OFFSET 0`` keeps the subquery from
    being flattened, so each duration is computed once per row rather than once per aggregate. The
    ``COLLATE "C"`` only speeds up the grouping sort (byte order); request types are ASCII slugs.
    """
    inner = qs.order_by().annotate(_fr=first_response_seconds(), _res=resolution_seconds()).values(
        "request_type", "_fr", "_res")
    sql, params = inner.query.sql_with_params()
    fractions = ", ".join(repr(float(p)) for p in PERCENTILES.values())
    edges = [0, *[d * DAY for d in DISTRIBUTION_EDGES_DAYS], None]
    buckets = []
    for prefix in ("fr", "res"):
        for i in range(_DISTRIBUTION_BUCKETS):
            upper = "" if edges[i + 1] is None else f" AND s._{prefix} < {edges[i + 1]!r}"
            buckets.append(f"COUNT(*) FILTER (WHERE s._{prefix} >= {edges[i]!r}{upper})")
    query = (
        'SELECT GROUPING(s.request_type COLLATE "C"), s.request_type COLLATE "C", '  # noqa: S608 - own SQL
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY s._fr), "
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY s._res), {', '.join(buckets)} "
        f'FROM ({sql} OFFSET 0) s GROUP BY GROUPING SETS ((), (s.request_type COLLATE "C"))'
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    found: dict[str, dict[Any, dict[str, Any]]] = {"fr": {}, "res": {}}
    distribution = {name: 0 for name in _BUCKETS}
    for grouping, request_type, fr, res, *counts in rows:
        key = "all" if grouping else request_type
        for prefix, values in (("fr", fr), ("res", res)):
            found[prefix][key] = {name: (None if values is None else float(values[i]))
                                  for i, name in enumerate(PERCENTILES)}
        if grouping:
            distribution = dict(zip(_BUCKETS, counts, strict=True))
    return found, distribution


def _percentiles(qs: QuerySet[Ticket]) -> tuple[dict[str, dict[Any, dict[str, Any]]], dict[str, int]]:
    """``{"fr"|"res": {"all"|request_type: {"median": s, "p90": s}}}`` and the overall histogram
    (``{"fr_bucket_0": n, ...}``)."""
    if connection.vendor == "postgresql":
        return _pg_percentiles(qs)
    found: dict[str, dict[Any, dict[str, Any]]] = {}
    for prefix, expr in (("fr", first_response_seconds()), ("res", resolution_seconds())):
        found[prefix] = {**_window_percentiles(qs, expr, None), **_window_percentiles(qs, expr, "request_type")}
    distribution = qs.annotate(_fr=first_response_seconds(), _res=resolution_seconds()).aggregate(
        **_distribution_aggregates())
    return found, distribution



def group_rows(qs: QuerySet[Ticket], f: MetricsFilter) -> QuerySet[Any]:
    """Counts and duration sums per week × request type × assignee (for :func:`report.rollup`)."""
    return (
        qs.annotate(_fr=first_response_seconds(), _res=resolution_seconds(),
                    week=TruncWeek("received_at", tzinfo=desk_tz()))
        .values("week", "request_type", "assignee")
        .annotate(**_cohort_group_aggregates(f.now))
        .order_by()
    )


def inputs(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> Inputs:
    """(1) one GROUP BY over the cohort for every count and sum, rolled up; (2) the percentiles and histogram
    (one query on PostgreSQL, window queries on SQLite); (3) the open tickets now."""
    qs = cohort(f, base)
    percentiles, distribution = _percentiles(qs)
    return Inputs(rollup([group_rows(qs, f)]), percentiles, distribution, open_rows(f, base))
