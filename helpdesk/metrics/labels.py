"""Column headers and values of the exports in the reader's language (issue 28, point 9).

A person opens an export in a spreadsheet: headers and coded values (request type, state, channel,
jurisdiction; the figures' section, group and metric) read in the active language. A program keeps
reading the machine codes, each in its own column right after its label: "Request type" then
``request_type_code``, "Metric" then ``metric_code``.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.fulfilment.records import readable
from helpdesk.models import Channel
from workflows.request_types import Jurisdiction, RequestType
from workflows.states import StateCategory, TicketState

__all__ = ["CODED_COLUMNS", "code_header", "column_label", "metric_label", "readable", "value_label"]

# Ticket export columns whose values are codes of a choice list: a label column and a code column.
CODED_COLUMNS: dict[str, type[models.TextChoices]] = {
    "request_type": RequestType, "state": TicketState, "channel": Channel, "jurisdiction": Jurisdiction,
}

_LABELS: dict[str, Any] = {
    # ticket export
    "reference": _("Reference"), "request_type": _("Request type"), "state": _("State"), "channel": _("Channel"),
    "jurisdiction": _("Jurisdiction"), "assignee": _("Administrator"), "subject": _("Subject"),
    "received_at": _("Received at"), "due_at": _("Due at"), "first_response_at": _("First response at"),
    "responded_at": _("Answered at"), "closed_at": _("Closed at"), "overdue": _("Overdue"), "on_time": _("On time"),
    "first_response_hours": _("First response (hours)"), "resolution_hours": _("Time to answer (hours)"),
    "paused_hours": _("Paused (hours)"), "extension_count": _("Extensions"), "fee_krw": _("Fee (KRW)"),
    "postage_krw": _("Postage (KRW)"), "fee_company_cause": _("Caused by the company (no fee)"),
    "requester_email": _("Requester's e-mail"), "requester_name": _("Requester's name"),
    # figures export: columns, sections, groups and metrics
    "section": _("Section"), "group": _("Group"), "metric": _("Metric"), "value": _("Value"),
    "period": _("Period"), "overall": _("Overall"), "distribution": _("Response-time distribution"),
    "backlog": _("Backlog by age"), "week": _("Week"),
    "from": _("From"), "to": _("To"), "time_zone": _("Time zone"),
    "received": _("Received"), "responded": _("Answered or refused"),
    "breached": _("Breaches"), "compliance_rate": _("Answered on time (share)"),
    "first_response": _("First response"), "resolution": _("Time to answer"), "count": _("Count"),
    "median_seconds": _("median (seconds)"), "p90_seconds": _("p90 (seconds)"), "mean_seconds": _("mean (seconds)"),
    "first_response_mean_seconds": _("First response, mean (seconds)"), "total": _("Total"),
    "by_request_type": _("Request type"), "label": _("Label"),
    **{str(c): c.label for c in StateCategory},  # open, answered, withdrawn, rejected
}


def column_label(code: str) -> str:
    return str(_LABELS[code]) if code in _LABELS else readable(code)


def code_header(code: str) -> str:
    return f"{code}_code"


def value_label(column: str, value: Any) -> Any:
    """A coded value's label in the active language (unknown codes as they are)."""
    choices = CODED_COLUMNS.get(column)
    if choices is None or value in (None, ""):
        return value
    return str(dict(choices.choices).get(value, value))


_BUCKET = re.compile(r"^(?P<a>\d+)-(?P<b>\d+)d$|^>=(?P<at_least>\d+)d$|^>(?P<over>\d+)d$")


def _bucket_label(code: str) -> str | None:
    """The distribution's and backlog's buckets: ``0-1d`` → "0–1 days", ``>=10d`` → "10 days or more"."""
    found = _BUCKET.match(code)
    if found is None:
        return None
    if found["at_least"]:
        return gettext("%(n)s days or more") % {"n": found["at_least"]}
    if found["over"]:
        return gettext("over %(n)s days") % {"n": found["over"]}
    return gettext("%(a)s–%(b)s days") % {"a": found["a"], "b": found["b"]}


def metric_label(code: str) -> str:
    """``first_response.p90_seconds`` → "First response · p90 (seconds)"; ``by_request_type.access`` → "… · Access"."""
    if (bucket := _bucket_label(code)) is not None:
        return bucket
    parts = code.split(".")
    labels = [value_label("request_type", part) if i and parts[0] == "by_request_type" else column_label(part)
              for i, part in enumerate(parts)]
    return " · ".join(labels)


def group_label(section: str, group: str) -> str:
    if not group:
        return ""
    if section == "request_type":
        return str(value_label("request_type", group))
    if section == "distribution":
        return column_label(group)
    if group == "(unassigned)":
        return gettext("Unassigned")
    return group
