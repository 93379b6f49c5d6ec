"""The report's shape: rolls the additive groups up and lays out every figure, whichever way
(:mod:`helpdesk.metrics.live` or :mod:`helpdesk.metrics.summary`) the inputs were computed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from helpdesk.metrics.base import (
    _ADDITIVE,
    _DISTRIBUTION_BUCKETS,
    BACKLOG_EDGES_DAYS,
    DISTRIBUTION_EDGES_DAYS,
    PERCENTILES,
    MetricsFilter,
    _add,
    _conditions,
    _durations,
    _rate,
    scoped_tickets,
)
from helpdesk.models import Ticket, User
from workflows.calendar import desk_tz
from workflows.request_types import RequestType
from workflows.roles import ADMINISTRATOR_GROUP


@dataclass
class Inputs:
    """What the report is built from. ``groups``: the additive figures (counts, duration counts and
    sums in seconds) rolled up by :func:`rollup`; ``percentiles``:
    ``{"fr"|"res": {"all"|request_type: {"median": s, "p90": s}}}``; ``distribution``:
    ``{"fr_bucket_0": n, ...}``; ``open_rows``: open tickets now per assignee."""

    groups: list[dict[str, Any]]
    percentiles: dict[str, dict[Any, dict[str, Any]]]
    distribution: dict[str, int]
    open_rows: list[dict[str, Any]]


# The top cards: received, then each state category (they add up to it), responded (answered or refused,
# what on-time is measured on) and overdue.
CARD_COUNTS = ("received", "open", "answered", "withdrawn", "rejected", "merged", "responded", "overdue")

# The report's groupings of the additive figures, and the columns that key each.
_LEVELS = {"all": (), "type": ("request_type",), "week": ("week", "request_type"), "assignee": ("assignee",)}


def rollup(parts: list[QuerySet[Any]]) -> list[dict[str, Any]]:
    """Fine groups (``values()`` querysets of week × request type × assignee with every figure of
    ``_ADDITIVE``; several may share a key) rolled up in the database, in one query, into the
    report's groupings: rows with ``level`` "all", "type", "week" (week × type) or "assignee".
    Plain GROUP BYs over one CTE rather than GROUPING SETS, which SQLite lacks."""
    # A local date on both databases (PostgreSQL: date_trunc gives a timestamp; SQLite: text).
    week = "CAST(m.week AS date)" if connection.vendor == "postgresql" else "date(m.week)"
    names = ", ".join(f"m.{name}" for name in _ADDITIVE)
    members: list[str] = []
    params: list[Any] = []
    for qs in parts:
        sql, part_params = qs.query.sql_with_params()
        members.append(f"SELECT {week} AS week, m.request_type, m.assignee, {names} FROM ({sql}) m")  # noqa: S608
        params += part_params
    sums = ", ".join(f"SUM(f.{name}) AS {name}" for name in _ADDITIVE)
    selects = []
    for level, keys in _LEVELS.items():
        columns = ", ".join(f"f.{key}" if key in keys else f"CAST(NULL AS {sql_type}) AS {key}"
                            for key, sql_type in (("week", "date"), ("request_type", "text"), ("assignee", "bigint")))
        group_by = f" GROUP BY {', '.join(f'f.{key}' for key in keys)}" if keys else ""
        selects.append(f"SELECT '{level}' AS level, {columns}, {sums} FROM f{group_by}")  # noqa: S608
    # Only our own compiled SQL and constant names (hence the noqa S608s).
    query = f"WITH f AS ({' UNION ALL '.join(members)}) {' UNION ALL '.join(selects)}"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names_out = [col[0] for col in cursor.description]
        rows = [dict(zip(names_out, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for name in _ADDITIVE:  # SUM gives numeric (Decimal) on PostgreSQL, NULL over no rows
            row[name] = float(row[name] or 0) if name.endswith("_sum") else int(row[name] or 0)
        if isinstance(row["week"], str):
            row["week"] = date.fromisoformat(row["week"])
    return rows


def open_rows(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> list[dict[str, Any]]:
    """Open tickets now (any receipt date), per assignee: the backlog and the administrators' open work."""
    now = f.now
    conds = _conditions(now)
    age_edges = [now - timedelta(days=d) for d in BACKLOG_EDGES_DAYS]
    # COUNT(received_at) (never null), not COUNT(id): the partial index ticket_open_cover then
    # answers it alone.
    return [dict(row) for row in (
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


def build(f: MetricsFilter, inputs: Inputs) -> dict[str, Any]:
    """All the figures of the manager's report, as plain JSON-ready data."""
    percentiles, distribution, open_rows = inputs.percentiles, inputs.distribution, inputs.open_rows

    overall: dict[str, Any] = {name: 0 for name in _ADDITIVE}
    type_rows: dict[Any, dict[str, Any]] = {}
    weeks: dict[date, dict[str, Any]] = {}
    period_by_user: dict[Any, dict[str, Any]] = {}
    for row in inputs.groups:
        if row["level"] == "all":
            overall = row
        elif row["level"] == "type":
            type_rows[row["request_type"]] = row
        elif row["level"] == "assignee":
            period_by_user[row["assignee"]] = row
        else:
            week_day = row["week"]
            entry = weeks.setdefault(week_day, {"week_start": week_day.isoformat(), "received": 0,
                                                "by_request_type": {}, "on_time": 0, "breached": 0})
            entry["received"] += row["received"]
            by_type = entry["by_request_type"]
            by_type[row["request_type"]] = by_type.get(row["request_type"], 0) + row["received"]
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
        "counts": {k: overall[k] for k in CARD_COUNTS},
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
                **{k: row[k] for k in (*CARD_COUNTS, "on_time", "breached")},
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
