"""CSV and XLSX exports of tickets and of the figures, built with tablib (openpyxl for XLSX).

Personal-data minimisation: an export never carries message bodies, and carries the requester's
name and address only when a manager asks for them explicitly (``include_emails``).
Administrators export only the tickets assigned to them; managers every ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import tablib
from django.db.models import BooleanField as BooleanOutput
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import HttpResponse
from django.utils.translation import gettext
from rest_framework.exceptions import PermissionDenied, ValidationError

from helpdesk import metrics
from helpdesk.metrics import labels
from helpdesk.metrics.cells import safe_row
from helpdesk.models import FeeQuote, Ticket
from workflows.calendar import desk_tz
from workflows.roles import ticket_scope
from workflows.states import OPEN_STATES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX}
TRUE_VALUES = {"1", "true", "yes", "on"}

TICKET_COLUMNS = [
    "reference", "request_type", "state", "channel", "jurisdiction", "assignee", "subject", "received_at",
    "due_at", "first_response_at", "responded_at", "closed_at", "overdue", "on_time",
    "first_response_hours", "resolution_hours", "paused_hours", "extension_count",
    "fee_krw", "postage_krw", "fee_company_cause",  # the latest quote (Decree 47); empty: none quoted
]


@dataclass(frozen=True)
class ExportOptions:
    file_format: str = "csv"
    include_emails: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, manager: bool) -> ExportOptions:
        file_format = str(params.get("file_format") or "csv").lower()
        if file_format not in FORMATS:
            raise ValidationError({"file_format": gettext("Choose csv or xlsx.")})
        include_emails = str(params.get("include_emails") or "").lower() in TRUE_VALUES
        if include_emails and not manager:
            raise PermissionDenied(gettext("Only managers can export requesters' e-mail addresses."))
        return cls(file_format=file_format, include_emails=include_emails)


def exportable_tickets(user: Any) -> QuerySet[Ticket]:
    """Managers: all tickets; administrators: only those assigned to them (not the unassigned)."""
    return Ticket.objects.filter(ticket_scope(user, unassigned=False).q())


def _local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(desk_tz()).isoformat()


def _hours(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 3600, 2)


def tickets_dataset(*, user: Any, metrics_filter: metrics.MetricsFilter, options: ExportOptions) -> tablib.Dataset:
    """One row per ticket received in the period; durations computed by the database."""
    now = metrics_filter.now
    latest_quotes = FeeQuote.objects.filter(ticket=OuterRef("pk")).order_by("-quoted_at", "-id")
    qs = (
        metrics.cohort(metrics_filter, exportable_tickets(user))
        .annotate(
            _fr=metrics.first_response_seconds(),
            _res=metrics.resolution_seconds(),
            _overdue=Case(When(Q(state__in=OPEN_STATES, due_at__lt=now), then=Value(True)), default=Value(False),
                          output_field=BooleanOutput()),
            _fee=Subquery(latest_quotes.values("fee")[:1]),
            _postage=Subquery(latest_quotes.values("postage")[:1]),
            _company_cause=Subquery(latest_quotes.values("company_cause")[:1]),
            _on_time=Case(When(responded_at__isnull=True, then=Value(None)),
                          When(responded_at__lte=F("due_at"), then=Value(True)), default=Value(False),
                          output_field=BooleanOutput(null=True)),
        )
        .order_by("received_at", "pk")
    )
    fields = ["reference", "request_type", "state", "channel", "jurisdiction", "assignee__username", "subject",
              "received_at", "due_at", "first_response_at", "responded_at", "closed_at", "_overdue", "_on_time",
              "_fr", "_res", "paused_seconds", "extension_count", "_fee", "_postage", "_company_cause"]
    columns = list(TICKET_COLUMNS)
    if options.include_emails:
        fields += ["requester__email", "requester__name"]
        columns += ["requester_email", "requester_name"]
    data = tablib.Dataset(headers=_headers(columns), title="tickets")
    for row in qs.values_list(*fields).iterator(chunk_size=2000):
        values = list(row)
        for i in (7, 8, 9, 10, 11):
            values[i] = _local(values[i])
        values[5] = values[5] or ""
        values[13] = "" if values[13] is None else values[13]
        values[14], values[15] = _hours(values[14]), _hours(values[15])
        values[16] = _hours(values[16])
        values[18:21] = ["" if value is None else value for value in values[18:21]]
        data.append(_with_codes(columns, values))
    return data


def _headers(columns: list[str]) -> list[str]:
    """Each column's label in the reader's language; a coded column is followed by its codes' column."""
    headers: list[str] = []
    for column in columns:
        headers.append(labels.column_label(column))
        if column in labels.CODED_COLUMNS:
            headers.append(labels.code_header(column))
    return headers


def _with_codes(columns: list[str], values: list[Any]) -> list[Any]:
    row: list[Any] = []
    for column, value in zip(columns, values, strict=True):
        if column in labels.CODED_COLUMNS:
            row += [labels.value_label(column, value), value]
        else:
            row.append(value)
    return row


def figures_dataset(metrics_filter: metrics.MetricsFilter) -> tablib.Dataset:
    """The figures in long form: section, group, metric, value (easy to pivot in a spreadsheet); section,
    group and metric as labels in the reader's language, each followed by its code."""
    figures = metrics.response_times(metrics_filter)
    data = tablib.Dataset(headers=[labels.column_label("section"), "section_code", labels.column_label("group"),
                                   "group_code", labels.column_label("metric"), "metric_code",
                                   labels.column_label("value")], title="figures")

    def line(section: str, group: str, metric: str, value: Any) -> None:
        data.append([labels.column_label(section), section, labels.group_label(section, group), group,
                     labels.metric_label(metric), metric, "" if value is None else value])

    def add(section: str, group: str, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                for sub, inner in value.items():
                    line(section, group, f"{key}.{sub}", inner)
            elif not isinstance(value, list):
                line(section, group, key, value)

    add("period", "", {"from": figures["period"]["from"], "to": figures["period"]["to"],
                       "time_zone": figures["period"]["time_zone"], **figures["filters"]})
    add("overall", "", {**figures["counts"], **figures["sla"], "first_response": figures["first_response"],
                        "resolution": figures["resolution"]})
    edges = figures["distribution"]["edges_days"]
    buckets = [f"{a}-{b}d" for a, b in zip([0, *edges], edges, strict=False)] + [f">={edges[-1]}d"]
    for kind in ("first_response", "resolution"):
        add("distribution", kind, dict(zip(buckets, figures["distribution"][kind], strict=True)))
    b_edges = figures["backlog"]["edges_days"]
    b_labels = [f"{a}-{b}d" for a, b in zip([0, *b_edges], b_edges, strict=False)] + [f">{b_edges[-1]}d"]
    add("backlog", "", {"total": figures["backlog"]["total"], "overdue": figures["backlog"]["overdue"],
                        **dict(zip(b_labels, figures["backlog"]["by_age"], strict=True))})
    for row in figures["by_request_type"]:
        add("request_type", row["request_type"], {k: v for k, v in row.items() if k not in ("request_type", "label")})
    for week in figures["weekly"]:
        add("week", week["week_start"], {k: v for k, v in week.items() if k != "week_start"})
    for load in figures["by_assignee"]:
        add("assignee", load["username"] or "(unassigned)",
            {k: v for k, v in load.items() if k not in ("username", "name")})
    return data


def neutralised(data: tablib.Dataset) -> tablib.Dataset:
    """A copy of ``data`` in which no cell can be read as a formula (see :mod:`helpdesk.metrics.cells`)."""
    safe = tablib.Dataset(headers=safe_row(data.headers or []), title=data.title)
    for row in data:
        safe.append(safe_row(row))
    return safe


def _response(data: tablib.Dataset, *, name: str, metrics_filter: metrics.MetricsFilter,
              options: ExportOptions) -> HttpResponse:
    data = neutralised(data)  # every export goes through here: CSV and XLSX, API and dashboard
    if options.file_format == "xlsx":
        content: bytes | str = data.export("xlsx")
    else:
        content = "\ufeff" + data.export("csv")  # BOM: Excel opens Korean text as UTF-8
    filename = f"privacy-desk-{name}-{metrics_filter.date_from}-{metrics_filter.date_to}.{options.file_format}"
    response = HttpResponse(content, content_type=FORMATS[options.file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def tickets_response(*, user: Any, metrics_filter: metrics.MetricsFilter, options: ExportOptions) -> HttpResponse:
    data = tickets_dataset(user=user, metrics_filter=metrics_filter, options=options)
    return _response(data, name="tickets", metrics_filter=metrics_filter, options=options)


def figures_response(*, metrics_filter: metrics.MetricsFilter, options: ExportOptions) -> HttpResponse:
    return _response(figures_dataset(metrics_filter), name="figures", metrics_filter=metrics_filter, options=options)
