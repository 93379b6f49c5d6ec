"""Exact figures from the per-day summary, with an exact percentile selection.

A year of a busy desk is ~350,000 tickets; reading them all (as :mod:`helpdesk.metrics.live` does)
costs about a second. Here a year reads a few tens of thousands of summary rows instead:

* **Closed tickets** (answered, rejected, withdrawn) never change with the clock, so their additive
  figures (counts, integer-microsecond duration sums, and a histogram of both durations over
  :data:`~helpdesk.models.figures.HISTOGRAM_EDGES`) are kept per local day × request type ×
  assignee × channel in ``FigureDay``. A trigger on the ticket table records every written
  ticket's day in ``FigureDirtyDay`` (any write path, bulk or not); :func:`refresh` recomputes
  those days from the tickets with the same expressions as the live figures before they are read.
* **Open tickets** (a few percent) are counted live, with the clock (overdue, backlog).
* **Percentiles** stay exact: the histogram says which bucket holds the values of rank
  ⌊p·(n−1)⌋ and ⌈p·(n−1)⌉ (``percentile_cont``'s two neighbours) and at which rank inside it; one
  query then reads only the tickets of those buckets (an index on PostgreSQL) and returns the
  values at those ranks. The interpolation is PostgreSQL's own (``lo + pct·(hi − lo)``).

The read runs in one snapshot (REPEATABLE READ on PostgreSQL); if a ticket of the period was written
meanwhile, or a bucket does not hold what the histogram says, the live figures answer instead:
the result is exact either way, only slower.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, TruncDate

from helpdesk.metrics import live, selection
from helpdesk.metrics.base import (
    _DISTRIBUTION_BUCKETS,
    AGGREGATE_WORK_MEM,
    DAY,
    DISTRIBUTION_EDGES_DAYS,
    MetricsFilter,
    MondayOf,
    _conditions,
    cohort,
    first_response_seconds,
    resolution_seconds,
)
from helpdesk.metrics.buckets import _PRESENT, _histogram_aggregates, _micros, bucket_expression, value_expression
from helpdesk.metrics.report import Inputs, open_rows, rollup
from helpdesk.metrics.selection import Inconsistent
from helpdesk.models import FigureDay, FigureDirtyDay, Ticket
from helpdesk.models.figures import DURATION_KINDS, HISTOGRAM_BUCKETS, HISTOGRAM_EDGES, histogram_field
from workflows.calendar import desk_tz
from workflows.states import OPEN_STATES

_SUMS = ("received", "responded", "on_time", "breached", "answered", "withdrawn", "rejected", "merged", "fr_count",
         "fr_sum_us", "res_count", "res_sum_us")
_HISTOGRAM = tuple(histogram_field(kind, i) for kind in DURATION_KINDS for i in range(HISTOGRAM_BUCKETS))


# --- Keeping the summary ------------------------------------------------------------------------
def _local_days_of(utc_days: Iterable[date]) -> set[date]:
    """The desk's local days that overlap the given UTC dates."""
    tz = desk_tz()
    days: set[date] = set()
    for u in utc_days:
        first = datetime.combine(u, time.min, tzinfo=UTC).astimezone(tz).date()
        last = (datetime.combine(u + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(microseconds=1)
                ).astimezone(tz).date()
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def _day_ranges(days: Iterable[date]) -> Q:
    """``received_at`` within any of the local days (contiguous days merged into one range)."""
    tz = desk_tz()
    q = Q(pk__in=[])
    run_start: date | None = None
    previous: date | None = None
    for day in [*sorted(days), None]:
        if day is not None and previous is not None and day == previous + timedelta(days=1):
            previous = day
            continue
        if run_start is not None and previous is not None:
            q |= Q(received_at__gte=datetime.combine(run_start, time.min, tzinfo=tz),
                   received_at__lt=datetime.combine(previous + timedelta(days=1), time.min, tzinfo=tz))
        run_start = previous = day
    return q


def _summary_rows(tickets: QuerySet[Ticket]) -> Iterator[FigureDay]:
    """The closed tickets' additive figures per local day × type × assignee × channel."""
    conds = _conditions(datetime.now(UTC))  # closed tickets: the clock plays no part
    rows = (
        tickets.exclude(state__in=OPEN_STATES).order_by()
        .annotate(_fr=first_response_seconds(), _res=resolution_seconds(),
                  _day=TruncDate("received_at", tzinfo=desk_tz()))
        .values("_day", "request_type", "assignee", "channel")
        .annotate(received=Count("pk"), responded=Count("pk", filter=conds["responded"]),
                  on_time=Count("pk", filter=conds["on_time"]), breached=Count("pk", filter=conds["breached"]),
                  answered=Count("pk", filter=conds["answered"]), withdrawn=Count("pk", filter=conds["withdrawn"]),
                  rejected=Count("pk", filter=conds["rejected"]), merged=Count("pk", filter=conds["merged"]),
                  fr_count=Count("_fr"), fr_sum_us=_micros("_fr"), res_count=Count("_res"), res_sum_us=_micros("_res"),
                  **_histogram_aggregates())
    )
    for found in rows.iterator(chunk_size=5000):
        row: dict[str, Any] = dict(found)
        day = row.pop("_day")
        yield FigureDay(day=day, **{k: (v if v is not None else 0) if k in _SUMS or k in _HISTOGRAM else v
                                    for k, v in row.items()})


def _one_writer() -> None:
    """One summary writer at a time (until commit): two refreshes of adjacent UTC dates share a local
    day, and each would delete the day's rows the other had not yet committed. SQLite has one writer anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('privacy_desk.figures_summary'))")


def _utc_dates(date_from: date, date_to: date) -> tuple[date, date]:
    """The UTC dates that the local period [date_from, date_to] overlaps."""
    tz = desk_tz()
    start = datetime.combine(date_from, time.min, tzinfo=tz).astimezone(UTC).date()
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC).date()
    return start, end


def refresh(date_from: date | None = None, date_to: date | None = None) -> int:
    """Recompute the summary of the days written since (within the period, if given).
    Returns how many local days were recomputed."""
    dirty = FigureDirtyDay.objects.all()
    if date_from is not None and date_to is not None:
        dirty = dirty.filter(day__range=_utc_dates(date_from, date_to))
    if not dirty.exists():  # the usual case: no lock, no transaction
        return 0
    with transaction.atomic():
        _one_writer()
        marks = list(dirty.values_list("pk", "day"))  # after the lock: what the previous writer left
        if not marks:
            return 0
        days = _local_days_of({day for _pk, day in marks})
        FigureDay.objects.filter(day__in=days).delete()
        FigureDay.objects.bulk_create(
            row for row in _summary_rows(Ticket.objects.filter(_day_ranges(days))) if row.day in days)
        FigureDirtyDay.objects.filter(pk__in=[pk for pk, _day in marks]).delete()
    return len(days)


def rebuild() -> int:
    """Recompute the whole summary from the tickets (after a restore, or a change of TIME_ZONE)."""
    with transaction.atomic():
        _one_writer()
        FigureDirtyDay.objects.all().delete()
        FigureDay.objects.all().delete()
        batch: list[FigureDay] = []
        count = 0
        for row in _summary_rows(Ticket.objects.all()):
            batch.append(row)
            if len(batch) >= 5000:
                FigureDay.objects.bulk_create(batch)
                count, batch = count + len(batch), []
        FigureDay.objects.bulk_create(batch)
    return count + len(batch)


def triggers_installed() -> bool:
    """SQLite drops a table's triggers when a migration rebuilds the table: never trust a summary
    that nothing keeps up to date. (PostgreSQL keeps them through ALTER TABLE.)"""
    if connection.vendor != "sqlite":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'helpdesk_ticket' "
                       "AND name LIKE 'helpdesk_ticket_figures_%%'")
        return bool(cursor.fetchone()[0] == 3)


# --- Reading it ---------------------------------------------------------------------------------
@contextmanager
def snapshot() -> Iterator[None]:
    """One consistent view for every query of the figures (REPEATABLE READ on PostgreSQL unless
    already inside a transaction, e.g. a test's); large sorts in memory, no JIT, no parallel workers."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # No parallel workers either: each query reads a few tens of thousands of rows, and
                # starting workers cost more than they saved (measured on 2 busy CPUs).
                cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true), "
                               "set_config('max_parallel_workers_per_gather', '0', true)", [AGGREGATE_WORK_MEM])
        yield


def _days(f: MetricsFilter) -> QuerySet[FigureDay]:
    qs = FigureDay.objects.filter(day__gte=f.date_from, day__lte=f.date_to)
    if f.request_type:
        qs = qs.filter(request_type=f.request_type)
    if f.assignee is not None:
        qs = qs.filter(assignee=f.assignee.pk)
    elif f.unassigned:
        qs = qs.filter(assignee__isnull=True)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs.order_by()


def _closed_group_rows(f: MetricsFilter) -> QuerySet[Any]:
    """The summary's figures per week × request type × assignee, shaped like :func:`live.group_rows`
    (closed tickets: none open or overdue; sums in seconds from exact integer microseconds)."""
    seconds = {f"{kind}_sum": Cast(Sum(f"{kind}_sum_us"), FloatField()) / Value(1_000_000.0)
               for kind in DURATION_KINDS}
    counts = {name: Sum(name) for name in _SUMS if not name.endswith("_us")}
    return (_days(f).annotate(week=MondayOf("day")).values("week", "request_type", "assignee")
            .annotate(**counts, **seconds, open=Value(0), overdue=Value(0)))


def _histograms(f: MetricsFilter, open_cohort: QuerySet[Ticket]) -> dict[str, dict[Any, list[int]]]:
    """``{kind: {"all"|request_type: [count per bucket]}}``: the summary's closed tickets plus the open ones."""
    found: dict[str, dict[Any, list[int]]] = {kind: {} for kind in DURATION_KINDS}

    def add(kind: str, request_type: str, bucket: int, n: int) -> None:
        for key in ("all", request_type):
            found[kind].setdefault(key, [0] * HISTOGRAM_BUCKETS)[bucket] += n

    # The 78 sums written out here: compiled as ORM aggregates they cost 12-22 ms a request, about
    # as much as PostgreSQL takes to compute them.
    sql, params = _days(f).values("request_type", *_HISTOGRAM).query.sql_with_params()
    sums = ", ".join(f"SUM(d.{name})" for name in _HISTOGRAM)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d.request_type, {sums} FROM ({sql}) d GROUP BY d.request_type",  # noqa: S608
                       params)
        for request_type, *counts in cursor.fetchall():
            for j, n in enumerate(counts):  # _HISTOGRAM: every bucket of the first kind, then the second
                add(DURATION_KINDS[j // HISTOGRAM_BUCKETS], request_type, j % HISTOGRAM_BUCKETS, n or 0)
    # Open tickets: one bucket number per duration and row, grouped (cheaper than a count per bucket).
    buckets = {f"_{kind}_b": Case(When(**{f"{_PRESENT[kind]}__isnull": True}, then=Value(None)),
                                  default=bucket_expression(value_expression(kind))) for kind in DURATION_KINDS}
    for row in open_cohort.annotate(**buckets).values("request_type", *buckets).annotate(n=Count("received_at")):
        for kind in DURATION_KINDS:
            if row[f"_{kind}_b"] is not None:
                add(kind, row["request_type"], row[f"_{kind}_b"], row["n"])
    return found


def _distribution(histograms: dict[str, dict[Any, list[int]]]) -> dict[str, int]:
    """The report's coarse histogram (edges 1/3/7/10 days) from the fine one: every coarse edge is a fine one."""
    coarse = [0.0, *[d * DAY for d in DISTRIBUTION_EDGES_DAYS]]
    distribution = {}
    for kind in DURATION_KINDS:
        counts = histograms[kind].get("all", [0] * HISTOGRAM_BUCKETS)
        for j in range(_DISTRIBUTION_BUCKETS):
            upper = coarse[j + 1] if j + 1 < len(coarse) else math.inf
            distribution[f"{kind}_bucket_{j}"] = sum(
                counts[i] for i in range(1, HISTOGRAM_BUCKETS) if coarse[j] <= HISTOGRAM_EDGES[i - 1] < upper)
    return distribution


def inputs(f: MetricsFilter) -> Inputs:
    """The report's inputs from the summary; call inside :func:`snapshot`, after :func:`refresh`."""
    marked = FigureDirtyDay.objects.filter(day__range=_utc_dates(f.date_from, f.date_to))
    if not triggers_installed() or marked.exists():
        raise Inconsistent  # written since the refresh, visible in this snapshot
    open_cohort = cohort(f).filter(state__in=OPEN_STATES)
    histograms = _histograms(f, open_cohort)
    return Inputs(
        groups=rollup([_closed_group_rows(f), live.group_rows(open_cohort, f)]),
        percentiles=selection.percentiles(f, histograms),
        distribution=_distribution(histograms),
        open_rows=open_rows(f),
    )
