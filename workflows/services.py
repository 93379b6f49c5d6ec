"""Writes owned by the workflow package: extending a ticket's legal deadline.

Like :mod:`helpdesk.services`: keyword-only arguments, one transaction, the ticket row locked,
the version bumped, an audit event written, and mail queued for after the commit.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import audit
from helpdesk.models import Message, MessageKind, Ticket, User
from helpdesk.roles import can_act_on_ticket
from helpdesk.services import (
    GuardError,
    PermissionDeniedError,
    TransitionNotAllowedError,
    _bump,
    _check_version,
)
from notifications.mail import render_bilingual
from notifications.services import queue_outbound_message
from workflows import sla
from workflows.calendar import LegalCalendar, end_of_day, local_date
from workflows.calendar import iso_local as _iso


def can_extend(ticket: Ticket) -> bool:
    """Whether the policy still allows an extension (for showing the button)."""
    policy = sla.ticket_policy(ticket)
    return ticket.is_open and policy.extension_period > 0 and ticket.extension_count < policy.max_extensions


def _queue_extension_notice(*, ticket: Ticket, reason: str, due_before: datetime, author: User) -> Message:
    """Bilingual notice (the requester's language first) with the reason and the new date."""
    context = {
        "ticket": ticket,
        "requester": ticket.requester,
        "reason": reason,
        "due_before": timezone.localtime(due_before),
        "due_at": timezone.localtime(ticket.due_at),
        "desk_email": settings.DESK_EMAIL,
    }
    body = render_bilingual("extension", context, ticket.requester.language)
    subject = f"[{ticket.reference}] 처리 기한 연장 안내 / Deadline extended: {ticket.subject}"
    return queue_outbound_message(ticket=ticket, body_text=body, kind=MessageKind.NOTICE, author=author,
                                  subject=subject)


@transaction.atomic
def extend_deadline(
    *, ticket: Ticket, actor: User, reason: str, expected_version: int | None = None
) -> Ticket:
    """Extend the deadline once per the policy's rule; the requester is told why and until when.

    PIPA (Enforcement Decree Art. 41(4)) lets the desk postpone with a notice giving the reason;
    GDPR Art. 12(3) and CCPA 1798.130(a)(2) allow one extension, again with a notice and reasons.
    """
    reason = (reason or "").strip()
    if not reason:
        raise GuardError({"reason": _("Give the reason for the extension; the requester is told it.")})
    locked = Ticket.objects.select_for_update().select_related("requester").get(pk=ticket.pk)
    _check_version(locked, expected_version)
    if not can_act_on_ticket(actor, locked):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    if not locked.is_open:
        raise TransitionNotAllowedError(_("A closed ticket's deadline cannot be extended."))
    policy = sla.ticket_policy(locked)
    if policy.extension_period <= 0 or locked.extension_count >= policy.max_extensions:
        raise GuardError(
            {"reason": _("This request's deadline has already been extended as far as the policy allows.")}
        )
    due_before = locked.due_at
    calendar = LegalCalendar.from_db()
    locked.due_at = end_of_day(sla.extended_last_day(calendar, local_date(due_before), policy))
    locked.extension_count += 1

    notice = _queue_extension_notice(ticket=locked, reason=reason, due_before=due_before, author=actor)
    audit.record_event(
        ticket=locked,
        actor=actor,
        action="sla.extended",
        data={
            "reason": reason,
            "due_before": _iso(due_before),
            "due_after": _iso(locked.due_at),
            "extension": locked.extension_count,
            "allowed": policy.max_extensions,
            "period": f"{policy.extension_period} {policy.extension_unit}",
            "notice": notice.pk,
                    },
    )
    _bump(locked)
    ticket.refresh_from_db()
    return locked
