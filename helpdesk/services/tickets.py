"""Opening tickets: the requester, the reference, the deadline, the first message, the assignee."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Channel, Direction, MessageKind, Requester, Ticket, User
from helpdesk.services.assignment import auto_assign
from helpdesk.services.errors import GuardError
from helpdesk.services.messages import InboundMessage, store_message
from helpdesk.services.representation import OnBehalfOf, check_on_behalf_of, record_representation
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
    received_at: datetime | None = None,
    postal_address: str = "",
    on_behalf_of: OnBehalfOf | None = None,
) -> Ticket:
    """Open a ticket with its first message, assign it, start its clock, acknowledge it.

    A request a staff member types in (phone, letter, fax, visit) gives ``received_at``, the moment
    it came in: the legal deadline runs from it. Its requester may have no e-mail address, only a
    phone number or a postal address; notices to them are then given by hand and recorded.
    ``helpdesk.intake.batch`` does the same for many mails at once, with the same helpers.
    """
    entered = channel not in (Channel.EMAIL, Channel.WEB) or received_at is not None
    received_at = staff_received_at(received_at) if received_at is not None else ticket_received_at(message, channel)
    check_reachable(email=message.sender_email, phone=phone, postal_address=postal_address)
    if on_behalf_of is not None:  # a representative's request: the power of attorney is filed with it
        check_on_behalf_of(on_behalf_of)
        if on_behalf_of.power_of_attorney is not None:
            message = replace(message, attachments=(*message.attachments, on_behalf_of.power_of_attorney))
    requester = get_or_create_requester(
        email=message.sender_email,
        name=requester_name or message.sender_name,
        phone=phone,
        organization=organization,
        language=language,
        postal_address=postal_address,
    )
    ticket = build_ticket(
        message=message, channel=channel, requester=requester, received_at=received_at,
        reference=next_reference(received_at), request_type=request_type,
        suggested_request_type=suggested_request_type, jurisdiction=jurisdiction,
    )
    if entered and actor is not None:
        ticket.entered_by = actor
    ticket.save()
    audit.record_event(ticket=ticket, actor=actor, **created_event(ticket, actor))
    first = store_message(ticket=ticket, direction=Direction.INBOUND, kind=MessageKind.MAIL, message=message,
                          author=ticket.entered_by)  # the staff member who took the request down
    if on_behalf_of is not None:
        record_representation(ticket=ticket, first_message=first, on_behalf_of=on_behalf_of, actor=actor)
    if acknowledge:
        notify.queue_acknowledgement(ticket=ticket, rate_limited=actor is None)
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
        "data": {"channel": ticket.channel, "request_type": ticket.request_type, "due_at": ticket.due_at.isoformat(),
                 **({"received_at": ticket.received_at.isoformat(), "entered_by": str(ticket.entered_by)}
                    if ticket.entered_by_id else {})},
    }


# A client's clock may run a little ahead of ours; beyond this a received time is in the future.
CLOCK_SKEW = timedelta(minutes=2)
# Older than this is almost surely a typo in the year (a letter found a year late still fits).
OLDEST_RECEIPT = timedelta(days=366)


def check_reachable(*, email: str, phone: str, postal_address: str) -> None:
    """The answer must reach the requester: by mail, or by phone or post when they have no address."""
    if not (email.strip() or phone.strip() or postal_address.strip()):
        raise GuardError({"requester_email": _(
            "Give an e-mail address, a phone number or a postal address: the answer must reach the requester.")})


def staff_received_at(received_at: datetime) -> datetime:
    """When a request typed in by staff came in: never in the future, never a year before."""
    now = timezone.now()
    if timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)
    if received_at > now + CLOCK_SKEW:
        raise GuardError({"received_at": _("The time received cannot be in the future.")})
    if received_at < now - OLDEST_RECEIPT:
        raise GuardError({"received_at": _("The time received is more than a year ago; check the year.")})
    return min(received_at, now)


def ticket_received_at(message: InboundMessage, channel: str) -> datetime:
    """When the clock starts: the mail's Date if plausible, else now."""
    received_at = message.sent_at if channel == Channel.EMAIL and message.sent_at else timezone.now()
    # Mail can carry any Date header; never let it put the deadline in the past or far future.
    now = timezone.now()
    if received_at > now or received_at < now - timedelta(days=7):
        received_at = now
    return received_at
