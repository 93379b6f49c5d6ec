"""Definitions shared by both ways of computing the figures: expressions, filters, aggregates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from helpdesk.models import Ticket, User
from workflows.calendar import desk_tz
from workflows.states import OPEN_STATES, StateCategory, states_in

DAY = 86400.0
PERCENTILES = {"median": 0.5, "p90": 0.9}
# Response-time histogram edges in days: [0,1), [1,3), [3,7), [7,10), [10,∞).
DISTRIBUTION_EDGES_DAYS = (1, 3, 7, 10)
# Backlog age edges in days: (0–2], (2–5], (5–10], > 10.
BACKLOG_EDGES_DAYS = (2, 5, 10)
# PostgreSQL only, for the figures' transaction: a year of a busy desk sorts a few hundred thousand
# durations per percentile; the 4 MB default would spill those sorts to disk.
AGGREGATE_WORK_MEM = "64MB"


# --- Expressions -------------------------------------------------------------------------------
class SecondsBetween(Func):
    """``end - start`` in seconds as a float, on PostgreSQL and SQLite alike."""

    output_field = FloatField()
    arity = 2
    # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, whose arithmetic made the
    # yearly figures several times slower; date_part returns double precision directly.
    template = "date_part('epoch', %(expressions)s)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django's own SQLite function: microseconds between two stored timestamps.
        return super().as_sql(compiler, connection, template="(django_timestamp_diff(%(expressions)s) / 1000000.0)",
                              arg_joiner=", ", **extra)


class MondayOf(Func):
    """The Monday of a date column's week, as a date (the column appears twice: no parameters).
    PostgreSQL: integer day arithmetic (1900-01-01 was a Monday), cheaper per row than date_trunc,
    which goes through timestamptz. SQLite: date()."""

    output_field = DateField()
    arity = 1
    # %%%% -> %% in the compiled SQL -> % once the driver interpolates the parameters.
    template = "(%(expressions)s - ((%(expressions)s - DATE '1900-01-01') %%%% 7))"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template="date(%(expressions)s, 'weekday 0', '-6 days')", **extra)


def first_response_seconds() -> Any:
    return SecondsBetween(F("first_response_at"), F("received_at"))


def resolution_seconds() -> Any:
    """Active seconds to the answer: recorded by the SLA clock at answer time (``active_seconds``,
    which knows whether the policy pauses the clock), else ``responded_at - received_at - paused_seconds``
    for tickets answered before that field existed (or loaded in bulk)."""
    # Not clamped with GREATEST: PostgreSQL's GREATEST ignores NULLs and would turn "no answer" into 0.
    computed = ExpressionWrapper(SecondsBetween(F("responded_at"), F("received_at")) - F("paused_seconds"),
                                 output_field=FloatField())
    answered = Q(responded_at__isnull=False)
    return Case(When(answered & Q(active_seconds__isnull=False), then=Cast("active_seconds", FloatField())),
                When(answered, then=computed), default=None, output_field=FloatField())


# --- Filters -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricsFilter:
    """What the manager asked for. ``date_from``/``date_to`` are inclusive local dates."""

    date_from: date
    date_to: date
    request_type: str | None = None
    assignee: User | None = None
    unassigned: bool = False
    channel: str | None = None
    now: datetime = field(default_factory=timezone.now)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, tzinfo=desk_tz())

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``date_to``."""
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=desk_tz())


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 30 days including today, in the desk's time zone."""
    today = today or timezone.localdate(timezone.now(), desk_tz())
    return today - timedelta(days=29), today


def scoped_tickets(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """Tickets matching the non-period filters (for the backlog and per-administrator load)."""
    qs = (base if base is not None else Ticket.objects.all()).order_by()
    if f.request_type:
        qs = qs.filter(request_type=f.request_type)
    if f.assignee is not None:
        qs = qs.filter(assignee=f.assignee)
    elif f.unassigned:
        qs = qs.filter(assignee__isnull=True)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs


def cohort(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """Tickets received in the period that match the filters."""
    return scoped_tickets(f, base).filter(received_at__gte=f.start, received_at__lt=f.end)


def _conditions(now: datetime) -> dict[str, Q]:
    open_q = Q(state__in=OPEN_STATES)
    overdue_q = open_q & Q(due_at__lt=now)
    answered_q = Q(responded_at__isnull=False)
    on_time_q = answered_q & Q(responded_at__lte=F("due_at"))
    breached_q = (answered_q & Q(responded_at__gt=F("due_at"))) | overdue_q
    # The cards' categories (open, answered, withdrawn, rejected) from the workflow's one map: they add
    # up to "received". "responded" (answered or refused, responded_at set) is what on-time is measured on.
    categories = {str(c): Q(state__in=states_in(c)) for c in StateCategory if c != StateCategory.OPEN}
    return {"open": open_q, "overdue": overdue_q, "responded": answered_q, "on_time": on_time_q,
            "breached": breached_q, **categories}


def _count_aggregates(now: datetime) -> dict[str, Any]:
    conds = _conditions(now)
    # COUNT(received_at) (never null), not COUNT(id): the covering indexes include received_at but
    # not always id (ticket_open_cover does not), and a column they lack sends the scan to the table.
    aggs: dict[str, Any] = {"received": Count("received_at")}
    aggs.update({name: Count("received_at", filter=q) for name, q in conds.items()})
    return aggs


def _window_percentiles(qs: QuerySet[Ticket], value: Any, group: str | None) -> dict[Any, dict[str, float]]:
    """Exact ``percentile_cont`` for each group, with window functions (SQLite, or to cross-check).

    For n sorted values v[0..n-1] and fraction p, percentile_cont is v[k] + (p·(n-1) − k)·(v[k+1] − v[k])
    with k = ⌊p·(n-1)⌋; the outer query picks rows k and k+1 and weights them.
    """
    inner = (
        qs.order_by()
        .annotate(_v=value)
        .filter(_v__isnull=False)
        .values(_g=F(group) if group else Value("all"), _x=F("_v"))
    )
    sql, params = inner.query.sql_with_params()
    columns = []
    for name, p in PERCENTILES.items():
        pos = f"({p!r} * (n - 1))"
        # Floor of a non-negative number: SQLite's CAST truncates, PostgreSQL's rounds (hence FLOOR there).
        lo = f"CAST(FLOOR({pos}) AS INTEGER)" if connection.vendor == "postgresql" else f"CAST({pos} AS INTEGER)"
        columns.append(
            f"SUM(CASE WHEN rn = {lo} THEN x * (1 - ({pos} - {lo})) "
            f"WHEN rn = {lo} + 1 THEN x * ({pos} - {lo}) ELSE 0 END) AS {name}"
        )
    query = (
        f"SELECT g, {', '.join(columns)} FROM ("  # noqa: S608 - only our own compiled SQL and constants
        f"SELECT s._g AS g, s._x AS x, ROW_NUMBER() OVER (PARTITION BY s._g ORDER BY s._x) - 1 AS rn, "
        f"COUNT(*) OVER (PARTITION BY s._g) AS n FROM ({sql}) s) w GROUP BY g"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return {row[0]: {name: float(row[i + 1]) for i, name in enumerate(PERCENTILES)} for row in rows}


def _durations(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    count = row.get(f"{prefix}_count") or 0
    total = row.get(f"{prefix}_sum")
    return {
        "count": count,
        "median_seconds": row.get(f"{prefix}_median"),
        "p90_seconds": row.get(f"{prefix}_p90"),
        "mean_seconds": None if not count or total is None else float(total) / count,
    }


def _rate(on_time: int, breached: int) -> float | None:
    return None if on_time + breached == 0 else on_time / (on_time + breached)


# Aggregate names that add up across groups (counts and sums), rolled up in Python.
_COUNT_NAMES = ("received", "open", "overdue", "responded", "on_time", "breached", "answered", "withdrawn",
                "rejected", "merged")
_DISTRIBUTION_BUCKETS = len(DISTRIBUTION_EDGES_DAYS) + 1


def _cohort_group_aggregates(now: datetime) -> dict[str, Any]:
    """Counts and duration sums: every one additive, so a single fine-grained GROUP BY
    (week × request type × assignee) rolls up exactly into the overall, per-type, weekly and
    per-administrator figures. Plain aggregates, so PostgreSQL runs it in parallel. The histogram
    buckets are not here: each would evaluate the duration expressions again for every row."""
    aggs = _count_aggregates(now)
    for prefix in ("fr", "res"):
        aggs[f"{prefix}_count"] = Count(f"_{prefix}")
        aggs[f"{prefix}_sum"] = Sum(f"_{prefix}")
    return aggs


def _distribution_aggregates() -> dict[str, Any]:
    edges = [0, *[d * DAY for d in DISTRIBUTION_EDGES_DAYS], None]
    aggs: dict[str, Any] = {}
    for prefix in ("fr", "res"):
        for i in range(_DISTRIBUTION_BUCKETS):
            cond = Q(**{f"_{prefix}__gte": edges[i]})
            if edges[i + 1] is not None:
                cond &= Q(**{f"_{prefix}__lt": edges[i + 1]})
            aggs[f"{prefix}_bucket_{i}"] = Count("pk", filter=cond)
    return aggs


def _add(into: dict[str, Any], row: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = row.get(name)
        if value is not None:
            into[name] = (into.get(name) or 0) + value


_ADDITIVE = (*_COUNT_NAMES, *(f"{p}_{k}" for p in ("fr", "res") for k in ("count", "sum")))
_BUCKETS = tuple(f"{p}_bucket_{i}" for p in ("fr", "res") for i in range(_DISTRIBUTION_BUCKETS))

@contextmanager
def _aggregate_session() -> Iterator[None]:
    """On PostgreSQL, one transaction with settings for large aggregates: sorts for the percentiles
    in memory rather than on disk, and no JIT (compiling costs more than it saves on these)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                           [AGGREGATE_WORK_MEM])
        yield

