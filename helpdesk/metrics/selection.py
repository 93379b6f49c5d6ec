"""Exact medians and p90s from histograms: which bucket holds each rank, then one query for the values.

For n values and fraction p, ``percentile_cont`` interpolates the values of 0-based ranks ⌊p·(n−1)⌋
and ⌈p·(n−1)⌉. The histogram (per group: overall and each request type) says which bucket holds each
of those ranks and at which rank inside the bucket; one query then reads only the tickets of those
buckets (index-only on PostgreSQL: ``ticket_fr_bucket``/``ticket_res_bucket``) and returns the
values at those ranks, for both durations at once. Python interpolates as PostgreSQL does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from django.db import connection

from helpdesk.metrics.base import PERCENTILES, MetricsFilter, cohort
from helpdesk.metrics.buckets import _PRESENT, bucket_expression, value_expression
from helpdesk.models.figures import DURATION_KINDS

# {kind: {"all"|request_type: [count per bucket]}}
Histograms = dict[str, dict[Any, list[int]]]
# (kind, "all"|request_type, bucket) -> the ranks wanted inside that bucket
Wanted = dict[tuple[str, Any, int], set[int]]


class Inconsistent(Exception):
    """The summary and the tickets disagree within the snapshot (a concurrent write): read live."""


def _locate(counts: list[int], rank: int) -> tuple[int, int]:
    """Bucket holding the value of 0-based ``rank``, and its rank inside the bucket."""
    before = 0
    for bucket, n in enumerate(counts):
        if rank < before + n:
            return bucket, rank - before
        before += n
    raise Inconsistent


def percentiles(f: MetricsFilter, histograms: Histograms) -> dict[str, dict[Any, dict[str, Any]]]:
    """``{kind: {"all"|request_type: {"median": s, "p90": s}}}``, exactly ``percentile_cont``'s values."""
    wanted: Wanted = defaultdict(set)
    plan: dict[tuple[str, Any], dict[str, tuple[float, tuple[int, int], tuple[int, int]]]] = {}
    for kind in DURATION_KINDS:
        for group, counts in histograms[kind].items():
            n = sum(counts)
            if not n:
                continue
            plan[(kind, group)] = {}
            for name, p in PERCENTILES.items():
                pos = p * (n - 1)
                lo, hi = _locate(counts, math.floor(pos)), _locate(counts, math.ceil(pos))
                plan[(kind, group)][name] = (pos - math.floor(pos), lo, hi)
                wanted[(kind, group, lo[0])].add(lo[1])
                wanted[(kind, group, hi[0])].add(hi[1])
    values = _values_at(f, wanted, histograms)
    found: dict[str, dict[Any, dict[str, Any]]] = {kind: {} for kind in DURATION_KINDS}
    for (kind, group), fractions in plan.items():
        found[kind][group] = {}
        for name, (pct, lo, hi) in fractions.items():
            first, second = values[(kind, group, *lo)], values[(kind, group, *hi)]
            # PostgreSQL's percentile_cont: float8_lerp(lo, hi, pct) = lo + pct * (hi - lo).
            found[kind][group][name] = first if lo == hi else first + pct * (second - first)
    return found


def _bucket_rows(f: MetricsFilter, kind: str, wanted: Wanted) -> tuple[str, list[Any]]:
    """SQL of the cohort's (request_type, _b, _v) in the wanted buckets of one duration."""
    value = value_expression(kind)
    inner = (cohort(f).filter(**{f"{_PRESENT[kind]}__isnull": False})
             .annotate(_b=bucket_expression(value))
             .filter(_b__in=sorted({bucket for (k, _group, bucket) in wanted if k == kind}))
             .annotate(_v=value).values("request_type", "_b", "_v"))
    sql, params = inner.query.sql_with_params()
    return sql, list(params)


def _values_at(f: MetricsFilter, wanted: Wanted, histograms: Histograms) -> dict[tuple[str, Any, int, int], float]:
    """The durations at the wanted ranks inside their buckets; checks that every bucket read holds
    what the histogram says (or the ranks mean nothing)."""
    if not wanted:
        return {}
    select = _pg_values_at if connection.vendor == "postgresql" else _window_values_at
    values = select(f, wanted, histograms)
    if any((kind, group, bucket, rank) not in values for (kind, group, bucket), ranks in wanted.items()
           for rank in ranks):
        raise Inconsistent
    return values


def _pg_values_at(f: MetricsFilter, wanted: Wanted, histograms: Histograms) -> dict[tuple[str, Any, int, int], float]:
    """PostgreSQL: per bucket and per (bucket, type), the sorted values as one array (``GROUPING
    SETS``: one sort of the rows, no window), indexed at the wanted ranks; both durations in one query."""
    parts, params = [], []
    for kind in DURATION_KINDS:
        if not any(k == kind for (k, _group, _bucket) in wanted):
            continue
        sql, inner_params = _bucket_rows(f, kind, wanted)
        # A bucket that only some types need: sort only their rows. Filtered above the scan (OFFSET 0
        # keeps the condition out of it): as an index condition, the OR made it a bitmap heap scan.
        overall = {bucket for (k, group, bucket) in wanted if k == kind and group == "all"}
        only = sorted({(group, bucket) for (k, group, bucket) in wanted if k == kind and bucket not in overall})
        keep = " OR ".join([f"s._b IN ({', '.join(str(b) for b in sorted(overall))})"] * bool(overall)
                           + ["(s.request_type, s._b) IN (VALUES " + ", ".join(["(%s, %s)"] * len(only)) + ")"]
                           * bool(only))
        parts.append(f"SELECT %s AS k, s.request_type AS t, s._b AS b, COUNT(*) AS n, "  # noqa: S608 - own SQL
                     f"array_agg(s._v ORDER BY s._v) AS xs FROM ({sql} OFFSET 0) s WHERE {keep} "
                     "GROUP BY GROUPING SETS ((s._b), (s._b, s.request_type))")
        params += [kind, *inner_params, *(v for pair in only for v in pair)]
    # The overall group is the row with no request type (request_type is never null).
    rows = [(kind, None if group == "all" else group, bucket, rank)
            for (kind, group, bucket), ranks in wanted.items() for rank in ranks]
    query = (
        f"SELECT g.k, g.t, g.b, w.r, g.n, g.xs[w.r + 1] FROM ({' UNION ALL '.join(parts)}) g "  # noqa: S608
        f"JOIN (VALUES {', '.join(['(%s, %s, %s::int, %s::int)'] * len(rows))}) w(k, t, b, r) "
        "ON g.k = w.k AND g.b = w.b AND g.t IS NOT DISTINCT FROM w.t"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, *(v for row in rows for v in row)])
        found = cursor.fetchall()
    values: dict[tuple[str, Any, int, int], float] = {}
    for kind, t, b, r, n, x in found:
        group = "all" if t is None else t
        if n != histograms[kind][group][b]:
            raise Inconsistent
        if x is not None:
            values[(kind, group, b, r)] = float(x)
    return values


def _window_values_at(f: MetricsFilter, wanted: Wanted,
                      histograms: Histograms) -> dict[tuple[str, Any, int, int], float]:
    """Elsewhere (SQLite), per duration: one sort (bucket, value) and one window pass: the rank
    overall is the row number in the bucket, the rank within a request type a running count of that
    type's rows (FILTER)."""
    values: dict[tuple[str, Any, int, int], float] = {}
    for kind in DURATION_KINDS:
        mine = {(group, bucket): ranks for (k, group, bucket), ranks in wanted.items() if k == kind}
        if not mine:
            continue
        sql, params = _bucket_rows(f, kind, wanted)
        counts = histograms[kind]
        types = sorted(group for group in counts if group != "all")
        running = ", ".join(f"COUNT(*) FILTER (WHERE s.request_type = %s) OVER w AS c{i}" for i in range(len(types)))
        own_rank = "CASE t " + " ".join(f"WHEN %s THEN c{i}" for i in range(len(types))) + " END - 1"
        # The wanted (type, bucket, rank) and (bucket, rank) as row-value lists: hashed, one probe a row.
        by_type = [(g, b, r) for (g, b), ranks in mine.items() if g != "all" for r in ranks] or [(None, -1, -1)]
        overall = [(b, r) for (g, b), ranks in mine.items() if g == "all" for r in ranks] or [(-1, -1)]
        cond_params = [v for row in [*by_type, *overall] for v in row]
        query = (
            "SELECT t, b, rt, ra, na, x FROM ("  # noqa: S608 - only our own compiled SQL and placeholders
            f"SELECT t, b, x, ra, na, {own_rank} AS rt FROM ("
            "SELECT s.request_type AS t, s._b AS b, s._v AS x, ROW_NUMBER() OVER w - 1 AS ra, "
            f"COUNT(*) OVER (PARTITION BY s._b) AS na, {running} FROM ({sql}) s "
            "WINDOW w AS (PARTITION BY s._b ORDER BY s._v ROWS UNBOUNDED PRECEDING)) r) q "
            f"WHERE (t, b, rt) IN (VALUES {', '.join(['(%s, %s, %s)'] * len(by_type))}) "
            f"OR (b, ra) IN (VALUES {', '.join(['(%s, %s)'] * len(overall))})"
        )
        with connection.cursor() as cursor:
            # Placeholders in text order: the CASE, the running counts, the inner query, the conditions.
            cursor.execute(query, [*types, *types, *params, *cond_params])
            rows = cursor.fetchall()
        for t, b, rt, ra, na, x in rows:
            if na != counts["all"][b]:
                raise Inconsistent
            values[(kind, t, b, rt)] = float(x)
            values[(kind, "all", b, ra)] = float(x)
    return values
