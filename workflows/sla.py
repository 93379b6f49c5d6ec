"""Deadlines: which policy applies to a ticket and when its answer is due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.calendar import LegalCalendar, end_of_day, local_date
from workflows.models import PeriodUnit, SlaPolicy
from workflows.request_types import Jurisdiction, RequestType

# Used when no row exists (e.g. a policy was deleted by mistake): the strictest PIPA period.
FALLBACK_POLICY = SlaPolicy(
    request_type=RequestType.OTHER, jurisdiction=Jurisdiction.KR, period=10, unit=PeriodUnit.CALENDAR_DAYS
)


def policy_for(request_type: str, jurisdiction: str = Jurisdiction.KR) -> SlaPolicy:
    """The policy for this type and jurisdiction, falling back to the Korean one."""
    policies = {
        p.jurisdiction: p
        for p in SlaPolicy.objects.filter(request_type=request_type, jurisdiction__in={jurisdiction, Jurisdiction.KR})
    }
    return policies.get(jurisdiction) or policies.get(Jurisdiction.KR) or FALLBACK_POLICY


def compute_due_at(
    received_at: datetime,
    policy: SlaPolicy,
    calendar: LegalCalendar | None = None,
) -> datetime:
    """End of the last day of the policy's period, counted from the day after receipt."""
    calendar = calendar or LegalCalendar.from_db()
    last_day = calendar.add_period(local_date(received_at), policy.period, policy.unit)
    return end_of_day(last_day)


def base_due_at(ticket: Any, calendar: LegalCalendar) -> datetime:
    """The deadline from the policy alone, before pauses and extensions."""
    return compute_due_at(ticket.received_at, policy_for(ticket.request_type, ticket.jurisdiction), calendar)


def recompute_due_at(ticket: Any) -> None:
    """Deadline after a reclassification: policy period, then pauses, then granted extensions."""
    calendar = LegalCalendar.from_db()
    due = base_due_at(ticket, calendar)
    policy = policy_for(ticket.request_type, ticket.jurisdiction)
    last_day = local_date(due)
    if ticket.paused_days:
        last_day = calendar.add_calendar_days(last_day, ticket.paused_days)
    for _ in range(ticket.extension_count):
        last_day = calendar.add_period(last_day, policy.extension_period, policy.extension_unit)
    ticket.due_at = end_of_day(last_day)


def resume_clock(ticket: Any, now: datetime) -> None:
    """End a pause: the deadline moves by the whole days the ticket waited for the requester."""
    if ticket.paused_at is None:
        return
    ticket.paused_seconds += max(0, int((now - ticket.paused_at).total_seconds()))
    days = (local_date(now) - local_date(ticket.paused_at)).days
    if days > 0:
        ticket.paused_days += days
        calendar = LegalCalendar.from_db()
        ticket.due_at = end_of_day(calendar.add_calendar_days(local_date(ticket.due_at), days))
    ticket.paused_at = None
