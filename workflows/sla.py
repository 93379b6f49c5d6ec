"""Deadlines: which policy applies to a ticket and when its answer is due.

``Ticket.due_at`` is stored and only ever moved by an event (receipt, reclassification, the end of a
pause, an extension), each of which is audited; nothing counts down. The stored value is the last
moment (23:59:59) of the last day in the desk's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflows.calendar import LegalCalendar, end_of_day, local_date
from workflows.calendar import iso_local as _iso
from workflows.models import PeriodUnit, SlaPolicy
from workflows.request_types import Jurisdiction, RequestType

# Used when no row exists (e.g. a policy was deleted by mistake): the strictest PIPA period.
FALLBACK_POLICY = SlaPolicy(
    request_type=RequestType.OTHER, jurisdiction=Jurisdiction.KR, period=10, unit=PeriodUnit.CALENDAR_DAYS,
    extension_period=10, extension_unit=PeriodUnit.CALENDAR_DAYS, max_extensions=1,
)


PolicyTable = dict[tuple[str, str], SlaPolicy]


def policy_for(request_type: str, jurisdiction: str = Jurisdiction.KR, table: PolicyTable | None = None) -> SlaPolicy:
    """The policy for this type and jurisdiction, falling back to the Korean one.

    ``table`` (from :func:`policy_table`) saves the query when many tickets are opened at once.
    """
    if table is None:
        table = policy_table(
            SlaPolicy.objects.filter(request_type=request_type, jurisdiction__in={jurisdiction, Jurisdiction.KR})
        )
    return table.get((request_type, jurisdiction)) or table.get((request_type, Jurisdiction.KR)) or FALLBACK_POLICY


def policy_table(policies: Any = None) -> PolicyTable:
    """Every policy (or those given) by (request type, jurisdiction)."""
    return {(p.request_type, p.jurisdiction): p for p in (SlaPolicy.objects.all() if policies is None else policies)}


def ticket_policy(ticket: Any) -> SlaPolicy:
    return policy_for(ticket.request_type, ticket.jurisdiction)


def compute_due_at(
    received_at: datetime,
    policy: SlaPolicy,
    calendar: LegalCalendar | None = None,
) -> datetime:
    """End of the last day of the policy's period, counted from the day after receipt.

    The day of receipt is the *local* (Asia/Seoul) date: mail at 23:30 on a Friday in Seoul
    (14:30 UTC) was received on Friday, and Saturday is day 1.
    """
    calendar = calendar or LegalCalendar.from_db()
    last_day = calendar.add_period(local_date(received_at), policy.period, policy.unit)
    return end_of_day(last_day)


def pause_unit(policy: SlaPolicy) -> str:
    """Pauses are counted in business days under a business-day policy, else in calendar days."""
    return PeriodUnit.BUSINESS_DAYS if policy.unit == PeriodUnit.BUSINESS_DAYS else PeriodUnit.CALENDAR_DAYS


def shift_last_day(calendar: LegalCalendar, last_day: date, days: int, unit: str) -> date:
    """Move a deadline's last day by ``days`` (calendar or business days), ending on a working day."""
    if days <= 0:
        return last_day
    return calendar.add_period(last_day, days, unit)


def extended_last_day(calendar: LegalCalendar, last_day: date, policy: SlaPolicy) -> date:
    """One extension, counted from the current deadline's last day (as the requester is told)."""
    return calendar.add_period(last_day, policy.extension_period, policy.extension_unit)


def base_due_at(ticket: Any, calendar: LegalCalendar) -> datetime:
    """The deadline from the policy alone, before pauses and extensions."""
    return compute_due_at(ticket.received_at, ticket_policy(ticket), calendar)


def recompute_due_at(ticket: Any) -> None:
    """Deadline after a reclassification: policy period, then pauses, then granted extensions.

    The same steps, in the same order, as the events that moved it (resume_clock, extensions).
    """
    calendar = LegalCalendar.from_db()
    policy = ticket_policy(ticket)
    last_day = local_date(base_due_at(ticket, calendar))
    if policy.pause_clock:
        last_day = shift_last_day(calendar, last_day, ticket.paused_days, pause_unit(policy))
    for _ in range(ticket.extension_count):
        last_day = extended_last_day(calendar, last_day, policy)
    ticket.due_at = end_of_day(last_day)
    # Duplicates merged into it keep their deadline: the earlier one still binds (issue 26).
    merged = getattr(ticket, "merged_tickets", None) if ticket.pk else None
    earliest = min((t.due_at for t in merged.all()), default=None) if merged is not None else None
    if earliest is not None and earliest < ticket.due_at:
        ticket.due_at = earliest


def take_earlier_deadline(ticket: Any, duplicate: Any) -> dict[str, Any]:
    """Merging (issue 26): the ticket that stays keeps the earlier of the two legal deadlines.

    The duplicate's request came in too; answering it late because it was merged would break its
    deadline. Returns what changed, for the audit trail (``changed`` False: the staying one's was earlier).
    """
    before = ticket.due_at
    if duplicate.due_at < ticket.due_at:
        ticket.due_at = duplicate.due_at
    return {"due_before": before.isoformat(), "due_after": ticket.due_at.isoformat(),
            "from": duplicate.reference, "changed": ticket.due_at != before}


def resume_clock(ticket: Any, now: datetime) -> dict[str, Any]:
    """End a pause: the deadline moves by the whole days the ticket waited for the requester.

    Days are counted on the desk's local dates (paused Monday, resumed Wednesday = 2 days; the
    same day = 0); under a business-day policy only working days count. Returns what the caller
    writes to the ticket's history (``sla.clock_resumed``); the caller holds the ticket's row lock.
    """
    if ticket.paused_at is None:
        return {}
    policy = ticket_policy(ticket)
    calendar = LegalCalendar.from_db()
    paused_from, resumed_on = local_date(ticket.paused_at), local_date(now)
    seconds = max(0, int((now - ticket.paused_at).total_seconds()))
    unit = pause_unit(policy)
    if unit == PeriodUnit.BUSINESS_DAYS:
        days = max(0, calendar.working_days_between(paused_from, resumed_on))
    else:
        days = max(0, (resumed_on - paused_from).days)
    due_before = ticket.due_at
    ticket.paused_seconds += seconds
    if policy.pause_clock and days > 0:
        ticket.paused_days += days
        ticket.due_at = end_of_day(shift_last_day(calendar, local_date(ticket.due_at), days, unit))
    data = {
        "paused_at": _iso(ticket.paused_at),
        "resumed_at": _iso(now),
        "paused_seconds": seconds,
        "paused_days": days if policy.pause_clock else 0,
        "unit": unit,
        "clock_paused": policy.pause_clock,
        "due_before": _iso(due_before),
        "due_after": _iso(ticket.due_at),
    }
    ticket.paused_at = None
    return data


def record_answer(ticket: Any, now: datetime) -> None:
    """Managers' figures at the moment of the answer: wall-clock and active (unpaused) seconds."""
    total = max(0, int((now - ticket.received_at).total_seconds()))
    paused = ticket.paused_seconds
    if ticket.paused_at is not None:  # answered (e.g. refused) while still waiting for the requester
        paused += max(0, int((now - ticket.paused_at).total_seconds()))
    ticket.resolution_seconds = total
    ticket.active_seconds = max(0, total - paused) if ticket_policy(ticket).pause_clock else total
