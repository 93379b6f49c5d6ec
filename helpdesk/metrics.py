"""Response-time figures for managers, computed in the database.

Every figure is an aggregate query: nothing here loads the tickets into Python. On PostgreSQL the
percentiles use ``percentile_cont``; SQLite has no such aggregate, so :func:`_window_percentiles`
computes the same interpolated value exactly with window functions (``ROW_NUMBER``/``COUNT``
``OVER``), one query per figure.

Definitions (also in docs/api.md):

* The *cohort* is the tickets received in the period (``from``/``to`` are local dates in the desk's
  time zone, both inclusive) that match the filters (request type, assignee, channel).
* *responded*: the request got its answer (``responded_at`` is set: responded or a reasoned refusal).
* *open*: still in an open state; *overdue*: open and past ``due_at`` now.
* *time to first response*: ``first_response_at - received_at`` (the first message we sent).
* *time to resolution*: the active seconds to the answer, as the SLA clock recorded them
  (``active_seconds``: time spent waiting for the requester does not count against the desk), or
  ``responded_at - received_at - paused_seconds`` where that was not recorded.
* *on time*: ``responded_at <= due_at``; *breached*: answered late, or still open past ``due_at``.
  Withdrawn requests count as neither. ``compliance_rate = on_time / (on_time + breached)``.
* *backlog*: open tickets matching the filters (any receipt date), by age now.
"""

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
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone

from helpdesk.models import Ticket, User
from workflows.calendar import desk_tz
from workflows.request_types import RequestType
from workflows.roles import ADMINISTRATOR_GROUP
from workflows.states import OPEN_STATES, TicketState

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
    return {"open": open_q, "overdue": overdue_q, "responded": answered_q, "on_time": on_time_q,
            "breached": breached_q, "withdrawn": Q(state=TicketState.WITHDRAWN)}


def _count_aggregates(now: datetime) -> dict[str, Any]:
    conds = _conditions(now)
    aggs: dict[str, Any] = {"received": Count("pk")}
    aggs.update({name: Count("pk", filter=q) for name, q in conds.items()})
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
_COUNT_NAMES = ("received", "open", "overdue", "responded", "on_time", "breached", "withdrawn")
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


def response_times(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> dict[str, Any]:
    """All the figures of the manager's report, as plain JSON-ready data.

    A fixed number of queries whatever the data: (1) one GROUP BY over the cohort for every count,
    sum and histogram bucket, rolled up here into the overall, per-type, weekly and per-administrator
    figures; (2) the percentiles (one query on PostgreSQL, window queries on SQLite); (3) the open
    tickets now, per administrator, with their ages (backlog); (4) the staff's names.
    """
    qs = cohort(f, base)
    conds = _conditions(f.now)
    now = f.now
    age_edges = [now - timedelta(days=d) for d in BACKLOG_EDGES_DAYS]
    with _aggregate_session():
        group_rows: list[dict[str, Any]] = [dict(row) for row in (
            qs.annotate(_fr=first_response_seconds(), _res=resolution_seconds(),
                        week=TruncWeek("received_at", tzinfo=desk_tz()))
            .values("week", "request_type", "assignee")
            .annotate(**_cohort_group_aggregates(now))
            .order_by()
        )]
        percentiles, distribution = _percentiles(qs)
        # Open tickets now (any receipt date): the backlog and the administrators' open work.
        # COUNT(received_at) (never null), not COUNT(id): the partial index ticket_open_cover then
        # answers it alone.
        open_rows: list[dict[str, Any]] = [dict(row) for row in (
            scoped_tickets(f, base).filter(conds["open"])
            .values("assignee")
            .annotate(
                open=Count("received_at"),
                overdue=Count("received_at", filter=Q(due_at__lt=now)),
                b0=Count("received_at", filter=Q(received_at__gt=age_edges[0])),
                b1=Count("received_at", filter=Q(received_at__lte=age_edges[0], received_at__gt=age_edges[1])),
                b2=Count("received_at", filter=Q(received_at__lte=age_edges[1], received_at__gt=age_edges[2])),
                b3=Count("received_at", filter=Q(received_at__lte=age_edges[2])),
            )
            .order_by()
        )]

    # Roll the fine groups up.
    overall: dict[str, Any] = {name: 0 for name in _ADDITIVE}
    type_rows: dict[Any, dict[str, Any]] = {}
    weeks: dict[date, dict[str, Any]] = {}
    period_by_user: dict[Any, dict[str, Any]] = {}
    for row in group_rows:
        _add(overall, row, _ADDITIVE)
        _add(type_rows.setdefault(row["request_type"], {name: 0 for name in _ADDITIVE}), row, _ADDITIVE)
        _add(period_by_user.setdefault(row["assignee"], {}), row, _ADDITIVE)
        week = row["week"]
        week_day = week.astimezone(desk_tz()).date() if isinstance(week, datetime) else week
        entry = weeks.setdefault(week_day, {"week_start": week_day.isoformat(), "received": 0, "by_request_type": {},
                                            "on_time": 0, "breached": 0})
        entry["received"] += row["received"]
        entry["by_request_type"][row["request_type"]] = (
            entry["by_request_type"].get(row["request_type"], 0) + row["received"])
        entry["on_time"] += row["on_time"]
        entry["breached"] += row["breached"]
    for entry in weeks.values():
        entry["compliance_rate"] = _rate(entry["on_time"], entry["breached"])
    for prefix in ("fr", "res"):
        for key, target in (("all", overall), *type_rows.items()):
            for name in PERCENTILES:
                target[f"{prefix}_{name}"] = percentiles[prefix].get(key, {}).get(name)

    backlog: dict[str, int] = {name: 0 for name in ("open", "overdue", "b0", "b1", "b2", "b3")}
    for row in open_rows:
        _add(backlog, row, tuple(backlog))

    # Per-administrator load: open now (any receipt date) and this period's work.
    by_user: dict[Any, dict[str, Any]] = {}
    for pk, row in period_by_user.items():
        by_user[pk] = {name: row.get(name, 0) for name in ("received", "responded", "on_time", "breached")}
        by_user[pk]["fr_mean"] = row["fr_sum"] / row["fr_count"] if row.get("fr_count") else None
    for row in open_rows:
        entry = by_user.setdefault(row["assignee"], {})
        entry["open"], entry["overdue"] = row["open"], row["overdue"]
    staff = {
        u.pk: u
        for u in User.objects.filter(Q(pk__in=[pk for pk in by_user if pk])
                                     | Q(groups__name=ADMINISTRATOR_GROUP, is_active=True)).distinct()
    }
    load = []
    for pk in sorted(staff, key=lambda k: str(staff[k]).lower()):
        if f.unassigned or (f.assignee is not None and f.assignee.pk != pk):
            continue
        load.append(_load_entry(by_user.get(pk), staff[pk]))
    if None in by_user:
        load.append(_load_entry(by_user[None], None))

    return {
        "period": {"from": f.date_from.isoformat(), "to": f.date_to.isoformat(), "time_zone": str(desk_tz())},
        "generated_at": f.now.astimezone(desk_tz()).isoformat(),
        "filters": {"request_type": f.request_type, "channel": f.channel,
                    "assignee": f.assignee.username if f.assignee else None},
        "counts": {k: overall[k] for k in ("received", "responded", "open", "overdue", "withdrawn")},
        "first_response": _durations(overall, "fr"),
        "resolution": _durations(overall, "res"),
        "sla": {"on_time": overall["on_time"], "breached": overall["breached"],
                "compliance_rate": _rate(overall["on_time"], overall["breached"])},
        "distribution": {
            "edges_days": list(DISTRIBUTION_EDGES_DAYS),
            "first_response": [distribution[f"fr_bucket_{i}"] for i in range(_DISTRIBUTION_BUCKETS)],
            "resolution": [distribution[f"res_bucket_{i}"] for i in range(_DISTRIBUTION_BUCKETS)],
        },
        "backlog": {
            "total": backlog["open"],
            "overdue": backlog["overdue"],
            "edges_days": list(BACKLOG_EDGES_DAYS),
            "by_age": [backlog[f"b{i}"] for i in range(4)],
        },
        "by_request_type": [
            {
                "request_type": key,
                "label": str(RequestType(key).label) if key in RequestType.values else key,
                **{k: row[k] for k in ("received", "responded", "open", "overdue", "withdrawn",
                                       "on_time", "breached")},
                "compliance_rate": _rate(row["on_time"], row["breached"]),
                "first_response": _durations(row, "fr"),
                "resolution": _durations(row, "res"),
            }
            for key, row in sorted(type_rows.items())
        ],
        "weekly": [weeks[k] for k in sorted(weeks)],
        "by_assignee": load,
    }


def _load_entry(row: dict[str, Any] | None, user: User | None) -> dict[str, Any]:
    row = row or {}
    return {
        "username": user.username if user else None,
        "name": str(user) if user else None,
        "open": row.get("open", 0),
        "overdue": row.get("overdue", 0),
        "received": row.get("received", 0),
        "responded": row.get("responded", 0),
        "on_time": row.get("on_time", 0),
        "breached": row.get("breached", 0),
        "compliance_rate": _rate(row.get("on_time", 0), row.get("breached", 0)),
        "first_response_mean_seconds": None if row.get("fr_mean") is None else float(row["fr_mean"]),
    }
