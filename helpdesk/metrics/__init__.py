"""Response-time figures for managers, computed in the database, exact.

Two ways to the same numbers: :mod:`helpdesk.metrics.summary` (the default: a per-day summary of
closed tickets kept exact by a trigger, open tickets live, an exact percentile selection) and
:mod:`helpdesk.metrics.live` (every figure an aggregate over the tickets themselves: the reference,
used for a restricted base queryset and whenever the summary cannot be read consistently).
:mod:`helpdesk.metrics.report` rolls the counts up and lays the figures out the same way for both;
:mod:`helpdesk.metrics.selection` picks the summary's exact medians and p90s.

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

from typing import Any

from django.db.models import QuerySet

from helpdesk.metrics import live, report, summary
from helpdesk.metrics.base import (
    BACKLOG_EDGES_DAYS,
    DISTRIBUTION_EDGES_DAYS,
    PERCENTILES,
    MetricsFilter,
    SecondsBetween,
    _aggregate_session,
    _window_percentiles,
    cohort,
    default_period,
    first_response_seconds,
    resolution_seconds,
    scoped_tickets,
)
from helpdesk.models import Ticket

__all__ = [
    "BACKLOG_EDGES_DAYS", "DISTRIBUTION_EDGES_DAYS", "PERCENTILES", "MetricsFilter", "SecondsBetween",
    "_window_percentiles", "cohort", "default_period", "first_response_seconds", "live", "report",
    "resolution_seconds", "response_times", "response_times_live", "scoped_tickets", "summary",
]


def response_times(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> dict[str, Any]:
    """All the figures of the manager's report, as plain JSON-ready data, in a fixed number of
    queries whatever the data. Only reads: the summary is refreshed by beat or cron
    (:mod:`helpdesk.metrics.tasks`); a period with days written since is answered live."""
    if base is not None:
        return response_times_live(f, base)
    with summary.snapshot():
        try:
            inputs = summary.inputs(f)
        except summary.Inconsistent:
            inputs = live.inputs(f)
    return report.build(f, inputs)


def response_times_live(f: MetricsFilter, base: QuerySet[Ticket] | None = None) -> dict[str, Any]:
    """The same figures straight from the tickets (slower at scale; the reference)."""
    with _aggregate_session():
        inputs = live.inputs(f, base)
    return report.build(f, inputs)
