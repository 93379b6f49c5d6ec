"""Deadlines: a ticket's request type and extension, and the managers' SLA policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Message, MessageKind, Ticket, User
from helpdesk.services.errors import GuardError, PermissionDeniedError, TransitionNotAllowedError
from helpdesk.services.locking import bump, lock_for_staff
from helpdesk.trust import audit
from notifications.mail import render_bilingual
from notifications.services import queue_outbound_message
from workflows import sla
from workflows.calendar import LegalCalendar, end_of_day, iso_local, local_date
from workflows.models import SlaPolicy
from workflows.request_types import RequestType
from workflows.roles import is_manager


@transaction.atomic
def reclassify(*, ticket: Ticket, request_type: str, actor: User, expected_version: int | None = None) -> Ticket:
    """Change the request type; the deadline is recomputed from the original receipt."""
    if request_type not in RequestType.values:
        raise GuardError({"request_type": _("Unknown request type.")})
    locked = lock_for_staff(ticket, actor, expected_version)
    old_type, old_due = locked.request_type, locked.due_at
    locked.request_type = request_type
    sla.recompute_due_at(locked)
    bump(locked)
    audit.record_event(
        ticket=locked, actor=actor, action="ticket.reclassified",
        data={"from": old_type, "to": request_type, "due_before": old_due.isoformat(),
              "due_after": locked.due_at.isoformat()},
    )
    ticket.refresh_from_db()
    return locked


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
    locked = lock_for_staff(ticket, actor, expected_version)
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
            "due_before": iso_local(due_before),
            "due_after": iso_local(locked.due_at),
            "extension": locked.extension_count,
            "allowed": policy.max_extensions,
            "period": f"{policy.extension_period} {policy.extension_unit}",
            "notice": notice.pk,
        },
    )
    bump(locked)
    ticket.refresh_from_db()
    return locked


@transaction.atomic
def save_sla_policy(*, actor: User, values: dict[str, Any], policy: SlaPolicy | None = None) -> SlaPolicy:
    """Add or change a deadline policy (managers); written to the desk-wide audit chain.

    Existing tickets keep their deadlines; new ones (and reclassified ones) use the new rule.
    """
    if not is_manager(actor):
        raise PermissionDeniedError(_("Only managers can change deadline policies."))
    policy = policy or SlaPolicy()
    created = policy.pk is None
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    audit.record_event(ticket=None, actor=actor, action="sla_policy.created" if created else "sla_policy.changed",
                       data={"policy": policy.pk, **model_to_dict(policy)})
    return policy
