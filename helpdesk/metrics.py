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

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone

from helpdesk.models import Ticket, User
from helpdesk.roles import ADMINISTRATOR_GROUP
from workflows.calendar import desk_tz
from workflows.request_types import RequestType
from workflows.states import OPEN_STATES, TicketState

DAY = 86400.0
PERCENTILES = {"median": 0.5, "p90": 0.9}
# Response-time histogram edges in days: [0,1), [1,3), [3,7), [7,10), [10,∞).
DISTRIBUTION_EDGES_DAYS = (1, 3, 7, 10)
# Backlog age edges in days: (0–2], (2–5], (5–10], > 10.
BACKLOG_EDGES_DAYS = (2, 5, 10)


# --- Expressions -------------------------------------------------------------------------------
class SecondsBetween(Func):
    """``end - start`` in seconds as a float, on PostgreSQL and SQLite alike."""

    output_field = FloatField()
    arity = 2
    template = "CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django's own SQLite function: microseconds between two stored timestamps.
        return super().as_sql(compiler, connection, template="(django_timestamp_diff(%(expressions)s) / 1000000.0)",
                              arg_joiner=", ", **extra)


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY x)`` (linear interpolation)."""

    function = "percentile_cont"
    output_field = FloatField()
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=repr(float(percentile)), **extra)


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


def _duration_aggregates(vendor_pg: bool) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for prefix, expr in (("fr", first_response_seconds()), ("res", resolution_seconds())):
        aggs[f"{prefix}_count"] = Count(expr)
        aggs[f"{prefix}_mean"] = Avg(expr)
        if vendor_pg:
            for name, p in PERCENTILES.items():
                aggs[f"{prefix}_{name}"] = PercentileCont(expr, p)
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
    return {
        "count": row.get(f"{prefix}_count") or 0,
        "median_seconds": row.get(f"{prefix}_median"),
        "p90_seconds": row.get(f"{prefix}_p90"),
        "mean_seconds": None if row.get(f"{prefix}_mean") is None else float(row[f"{prefix}_mean"]),
    }


def _rate(on_time: int, breached: int) -> float | None:
    return None if on_time + breached == 0 else on_time / (on_time + breached)


def _fill_percentiles(rows: dict[Any, dict[str, Any]], qs: QuerySet[Ticket], group: str | None) -> None:
    """On SQLite, add the median/p90 that PostgreSQL computed inline."""
    for prefix, expr in (("fr", first_response_seconds()), ("res", resolution_seconds())):
        found = _window_percentiles(qs, expr, group)
        for key, row in rows.items():
            for name in PERCENTILES:
                row[f"{prefix}_{name}"] = found.get(key, {}).get(name)


def response_times(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> dict[str, Any]:
    """All the figures of the manager's report, as plain JSON-ready data."""
    is_pg = connection.vendor == "postgresql"
    qs = cohort(f, base)
    fr, res = first_response_seconds(), resolution_seconds()

    # 1. Overall counts, durations and the response-time histograms: one query.
    overall_aggs = {**_count_aggregates(f.now), **_duration_aggregates(is_pg)}
    edges = [0, *[d * DAY for d in DISTRIBUTION_EDGES_DAYS], None]
    for prefix in ("fr", "res"):
        for i in range(len(edges) - 1):
            cond = Q(**{f"_{prefix}__gte": edges[i]})
            if edges[i + 1] is not None:
                cond &= Q(**{f"_{prefix}__lt": edges[i + 1]})
            overall_aggs[f"{prefix}_bucket_{i}"] = Count("pk", filter=cond)
    overall = qs.annotate(_fr=fr, _res=res).aggregate(**overall_aggs)
    if not is_pg:
        wrapped = {"all": overall}
        _fill_percentiles(wrapped, qs, None)

    # 2. The same per request type: one query (+ window queries on SQLite).
    type_rows: dict[Any, dict[str, Any]] = {
        row["request_type"]: dict(row)
        for row in qs.values("request_type").annotate(**_count_aggregates(f.now), **_duration_aggregates(is_pg))
    }
    if not is_pg:
        _fill_percentiles(type_rows, qs, "request_type")

    # 3. Weekly trend (tickets per week by type, on-time vs breached): one query.
    conds = _conditions(f.now)
    weekly_rows = (
        qs.annotate(week=TruncWeek("received_at", tzinfo=desk_tz()))
        .values("week", "request_type")
        .annotate(n=Count("pk"), on_time=Count("pk", filter=conds["on_time"]),
                  breached=Count("pk", filter=conds["breached"]))
        .order_by("week", "request_type")
    )
    weeks: dict[date, dict[str, Any]] = {}
    for row in weekly_rows:
        week = row["week"]
        week_day = week.astimezone(desk_tz()).date() if isinstance(week, datetime) else week
        entry = weeks.setdefault(week_day, {"week_start": week_day.isoformat(), "received": 0, "by_request_type": {},
                                            "on_time": 0, "breached": 0})
        entry["received"] += row["n"]
        entry["by_request_type"][row["request_type"]] = row["n"]
        entry["on_time"] += row["on_time"]
        entry["breached"] += row["breached"]
    for entry in weeks.values():
        entry["compliance_rate"] = _rate(entry["on_time"], entry["breached"])

    # 4. Backlog now, by age: one query on the open tickets (partial index).
    now = f.now
    age_edges = [now - timedelta(days=d) for d in BACKLOG_EDGES_DAYS]
    backlog_aggs: dict[str, Any] = {
        "b0": Count("pk", filter=Q(received_at__gt=age_edges[0])),
        "b1": Count("pk", filter=Q(received_at__lte=age_edges[0], received_at__gt=age_edges[1])),
        "b2": Count("pk", filter=Q(received_at__lte=age_edges[1], received_at__gt=age_edges[2])),
        "b3": Count("pk", filter=Q(received_at__lte=age_edges[2])),
        "total": Count("pk"),
        "overdue": Count("pk", filter=Q(due_at__lt=now)),
    }
    backlog = scoped_tickets(f, base).filter(state__in=OPEN_STATES).aggregate(**backlog_aggs)

    # 5. Per-administrator load: open now (any receipt date) and this period's work: one query.
    in_period = Q(received_at__gte=f.start, received_at__lt=f.end)
    load_rows: list[dict[str, Any]] = [dict(row) for row in (
        scoped_tickets(f, base)
        .filter(Q(state__in=OPEN_STATES) | in_period)
        .values("assignee")
        .annotate(
            open=Count("pk", filter=conds["open"]),
            overdue=Count("pk", filter=conds["overdue"]),
            received=Count("pk", filter=in_period),
            responded=Count("pk", filter=in_period & conds["responded"]),
            on_time=Count("pk", filter=in_period & conds["on_time"]),
            breached=Count("pk", filter=in_period & conds["breached"]),
            fr_mean=Avg(fr, filter=in_period),
        )
        .order_by()
    )]
    staff = {
        u.pk: u
        for u in User.objects.filter(Q(pk__in=[r["assignee"] for r in load_rows if r["assignee"]])
                                     | Q(groups__name=ADMINISTRATOR_GROUP, is_active=True)).distinct()
    }
    by_user: dict[Any, dict[str, Any]] = {r["assignee"]: r for r in load_rows}
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
            "first_response": [overall[f"fr_bucket_{i}"] for i in range(len(edges) - 1)],
            "resolution": [overall[f"res_bucket_{i}"] for i in range(len(edges) - 1)],
        },
        "backlog": {
            "total": backlog["total"],
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
