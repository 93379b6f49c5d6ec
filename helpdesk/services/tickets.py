"""Opening tickets: the requester, the reference, the deadline, the first message, the assignee."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpdesk.models import Channel, Direction, MessageKind, Requester, Ticket, User
from helpdesk.services.assignment import auto_assign
from helpdesk.services.messages import InboundMessage, store_message
from helpdesk.services.requesters import get_or_create_requester, next_reference
from helpdesk.trust import audit
from notifications import services as notify
from workflows import sla
from workflows.calendar import LegalCalendar
from workflows.request_types import Jurisdiction, RequestType


@transaction.atomic
def create_ticket(
    *,
    message: InboundMessage,
    channel: str,
    request_type: str | None = None,
    suggested_request_type: str = "",
    jurisdiction: str = Jurisdiction.KR,
    requester_name: str = "",
    phone: str = "",
    organization: str = "",
    language: str | None = None,
    actor: User | None = None,
    acknowledge: bool = True,
) -> Ticket:
    """Open a ticket with its first message, assign it, start its clock, acknowledge it.

    ``helpdesk.intake.batch`` does the same for many mails at once, with the same helpers.
    """
    received_at = ticket_received_at(message, channel)
    requester = get_or_create_requester(
        email=message.sender_email,
        name=requester_name or message.sender_name,
        phone=phone,
        organization=organization,
        language=language,
    )
    ticket = build_ticket(
        message=message, channel=channel, requester=requester, received_at=received_at,
        reference=next_reference(received_at), request_type=request_type,
        suggested_request_type=suggested_request_type, jurisdiction=jurisdiction,
    )
    ticket.save()
    audit.record_event(ticket=ticket, actor=actor, **created_event(ticket, actor))
    store_message(ticket=ticket, direction=Direction.INBOUND, kind=MessageKind.MAIL, message=message)
    if acknowledge:
        notify.queue_acknowledgement(ticket=ticket)
    # Last, so the administrators' rows stay locked (for fair dealing) only until the commit.
    auto_assign(ticket=ticket)
    return ticket


def build_ticket(
    *,
    message: InboundMessage,
    channel: str,
    requester: Requester,
    received_at: datetime,
    reference: str,
    request_type: str | None = None,
    suggested_request_type: str = "",
    jurisdiction: str = Jurisdiction.KR,
    policies: sla.PolicyTable | None = None,
    calendar: LegalCalendar | None = None,
) -> Ticket:
    """A new ticket, unsaved, with its deadline. ``policies``/``calendar`` save queries in bulk."""
    chosen_type = request_type or suggested_request_type or RequestType.OTHER
    policy = sla.policy_for(chosen_type, jurisdiction, policies)
    return Ticket(
        reference=reference,
        request_type=chosen_type,
        suggested_request_type=suggested_request_type,
        jurisdiction=jurisdiction,
        subject=(message.subject or "(no subject)")[:300],
        requester=requester,
        channel=channel,
        received_at=received_at,
        due_at=sla.compute_due_at(received_at, policy, calendar),
    )


def created_event(ticket: Ticket, actor: User | None) -> dict[str, Any]:
    """The ``ticket.created`` audit event's fields (for audit.record_event / audit.build_event)."""
    return {
        "actor_name": f"requester <{ticket.requester.email}>" if actor is None else None,
        "action": "ticket.created",
        "to_state": ticket.state,
        "data": {"channel": ticket.channel, "request_type": ticket.request_type, "due_at": ticket.due_at.isoformat()},
    }


def ticket_received_at(message: InboundMessage, channel: str) -> datetime:
    """When the clock starts: the mail's Date if plausible, else now."""
    received_at = message.sent_at if channel == Channel.EMAIL and message.sent_at else timezone.now()
    # Mail can carry any Date header; never let it put the deadline in the past or far future.
    now = timezone.now()
    if received_at > now or received_at < now - timedelta(days=7):
        received_at = now
    return received_at
