"""Dashboard views: thin wrappers over :mod:`helpdesk.metrics` and :mod:`helpdesk.metrics.exports`."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from helpdesk import metrics
from helpdesk.metrics import exports
from helpdesk.metrics.query import MetricsQuerySerializer
from workflows.request_types import RequestType
from workflows.roles import can_read_figures, can_use_desk, is_manager
from workflows.states import StateCategory

# Chart colours: one per request type, colour-blind friendly (Okabe–Ito + greys).
TYPE_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999"]


def _hours(seconds: float | None) -> str:
    """A duration as a person says it (issue 28): "35 min", "2 h", "2 h 30 min", "1 d 4 h" — never "0.1 h"."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours} if hours else _("%(days)d d") % {
            "days": days}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes} if minutes else _(
            "%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _query(request: HttpRequest) -> tuple[MetricsQuerySerializer, dict[str, Any]]:
    query = MetricsQuerySerializer(data=request.GET)
    errors: dict[str, Any] = {}
    if not query.is_valid():
        errors = dict(query.errors)
        query = MetricsQuerySerializer(data={})
        query.is_valid(raise_exception=True)
    return query, errors


def _chart_data(figures: dict[str, Any]) -> dict[str, Any]:
    """What dashboard.js draws; every label already translated."""
    labels = dict(RequestType.choices)
    weeks = [w["week_start"] for w in figures["weekly"]]
    present = sorted({t for w in figures["weekly"] for t in w["by_request_type"]})
    edges = figures["distribution"]["edges_days"]
    buckets = [_("under %(n)s days") % {"n": edges[0]}]
    buckets += [_("%(a)s–%(b)s days") % {"a": a, "b": b} for a, b in itertools.pairwise(edges)]
    buckets.append(_("%(n)s days or more") % {"n": edges[-1]})
    load = [row for row in figures["by_assignee"] if row["username"]]
    return {
        "weekly": {
            "labels": weeks,
            "datasets": [
                {"label": str(labels.get(t, t)), "data": [w["by_request_type"].get(t, 0) for w in figures["weekly"]],
                 "backgroundColor": TYPE_COLOURS[list(RequestType.values).index(t) % len(TYPE_COLOURS)]}
                for t in present
            ],
        },
        "distribution": {
            "labels": buckets,
            "datasets": [
                {"label": _("First response"), "data": figures["distribution"]["first_response"],
                 "backgroundColor": "#0072B2"},
                {"label": _("Answer (active time)"), "data": figures["distribution"]["resolution"],
                 "backgroundColor": "#E69F00"},
            ],
        },
        "compliance": {
            "labels": weeks,
            "datasets": [{"label": _("Answered on time (%)"),
                          "data": [None if w["compliance_rate"] is None else round(w["compliance_rate"] * 100, 1)
                                   for w in figures["weekly"]],
                          "borderColor": "#009E73", "backgroundColor": "#009E73", "spanGaps": True,
                          # A period of one week is one point, not a line: draw it big enough to see.
                          "pointRadius": 5, "pointHoverRadius": 7}],
        },
        "workload": {
            "labels": [row["name"] for row in load],
            "datasets": [
                {"label": _("Open"), "data": [row["open"] for row in load], "backgroundColor": "#0072B2"},
                {"label": _("Overdue"), "data": [row["overdue"] for row in load], "backgroundColor": "#D55E00"},
                {"label": _("Received in period"), "data": [row["received"] for row in load],
                 "backgroundColor": "#999999"},
            ],
        },
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    if not can_read_figures(request.user):
        raise PermissionDenied
    query, errors = _query(request)
    metrics_filter = query.to_filter()
    figures = metrics.response_times(metrics_filter)
    type_labels = dict(RequestType.choices)
    for row in figures["by_request_type"]:
        row["label"] = type_labels.get(row["request_type"], row["request_type"])
        row["fr_median"], row["fr_p90"] = _hours(row["first_response"]["median_seconds"]), _hours(
            row["first_response"]["p90_seconds"])
        row["res_median"], row["res_p90"] = _hours(row["resolution"]["median_seconds"]), _hours(
            row["resolution"]["p90_seconds"])
        row["rate"] = _percent(row["compliance_rate"])
    for row in figures["by_assignee"]:
        row["rate"] = _percent(row["compliance_rate"])
        row["fr_mean"] = _hours(row["first_response_mean_seconds"])
    backlog_edges = figures["backlog"]["edges_days"]
    backlog_labels = [_("up to %(n)s days") % {"n": backlog_edges[0]}]
    backlog_labels += [_("%(a)s–%(b)s days") % {"a": a, "b": b}
                       for a, b in itertools.pairwise(backlog_edges)]
    backlog_labels.append(_("over %(n)s days") % {"n": backlog_edges[-1]})
    context = {
        "nav": "dashboard",
        "figures": figures,
        "filter": metrics_filter,
        "errors": errors,
        "request_types": RequestType.choices,
        # One card per state category (workflows.states.STATE_CATEGORY): they add up to "received".
        "state_cards": [(str(code), str(label), figures["counts"][code]) for code, label in StateCategory.choices],
        "cards_sum": _("received = %(parts)s") % {"parts": " + ".join(str(label) for label in StateCategory.labels)},
        "summary": {
            "fr_median": _hours(figures["first_response"]["median_seconds"]),
            "fr_p90": _hours(figures["first_response"]["p90_seconds"]),
            "fr_mean": _hours(figures["first_response"]["mean_seconds"]),
            "res_median": _hours(figures["resolution"]["median_seconds"]),
            "res_p90": _hours(figures["resolution"]["p90_seconds"]),
            "res_mean": _hours(figures["resolution"]["mean_seconds"]),
            "rate": _percent(figures["sla"]["compliance_rate"]),
        },
        "backlog_rows": list(zip(backlog_labels, figures["backlog"]["by_age"], strict=True)),
        "charts": _chart_data(figures),
        "query_string": request.GET.urlencode(),
    }
    return render(request, "dashboard/index.html", context)


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    if not can_use_desk(request.user) or (kind == "figures" and not can_read_figures(request.user)):
        raise PermissionDenied
    query = MetricsQuerySerializer(data=request.GET)
    if not query.is_valid():
        return HttpResponseBadRequest(_("The period or a filter is not valid."))
    try:
        options = exports.ExportOptions.from_params(request.GET, manager=is_manager(request.user))
    except APIException as exc:
        if exc.status_code == 403:
            raise PermissionDenied from exc
        return HttpResponseBadRequest(str(exc.detail))
    if kind == "figures":
        return exports.figures_response(metrics_filter=query.to_filter(), options=options)
    return exports.tickets_response(user=request.user, metrics_filter=query.to_filter(), options=options)


@login_required
def export_tickets(request: HttpRequest) -> HttpResponse:
    return _export(request, "tickets")


@login_required
def export_figures(request: HttpRequest) -> HttpResponse:
    return _export(request, "figures")
