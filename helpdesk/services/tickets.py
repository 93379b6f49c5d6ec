"""Opening one ticket: the requester, the reference, the deadline, the first message, the assignee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Message, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.messages import InboundMessage
from helpdesk.services.opening import CLOCK_SKEW, TicketToOpen, open_tickets, ticket_of
from helpdesk.services.representation import OnBehalfOf, check_on_behalf_of, record_representation
from helpdesk.services.requesters import requester_without_email
from workflows.request_types import Jurisdiction

# Older than this is almost surely a typo in the year (a letter found a year late still fits).
OLDEST_RECEIPT = timedelta(days=366)


@transaction.atomic  # its own savepoint: a caller's transaction stays usable if it loses a race
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
    more_events: tuple[dict[str, Any], ...] = (),
    with_ticket: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Open a ticket with its first message, assign it, start its clock, acknowledge it.

    One item of :func:`~helpdesk.services.opening.open_tickets`, the path every new ticket takes.
    A request a staff member types in (phone, letter, fax, visit: issue 26) gives ``received_at``,
    the moment it came in, from which the legal deadline runs; its requester may have no e-mail
    address, only a phone number or a postal address (notices are then given by hand and recorded);
    ``on_behalf_of``: a representative's request, its power of attorney filed with the first message;
    ``more_events``: audit events (``audit.build_event`` keyword arguments) chained right after the
    ticket's "created" and "assigned" ones, in the same INSERT; ``with_ticket(ticket)`` writes rows
    that need the stored ticket but not its reference or assignee, before the shared locks.
    """
    check_reachable(email=message.sender_email, phone=phone, postal_address=postal_address)
    if received_at is not None:
        received_at = staff_received_at(received_at)
    if on_behalf_of is not None:
        check_on_behalf_of(on_behalf_of)
        if on_behalf_of.power_of_attorney is not None:
            message = replace(message, attachments=(*message.attachments, on_behalf_of.power_of_attorney))
    item = TicketToOpen(
        message=message, channel=channel, request_type=request_type, suggested_request_type=suggested_request_type,
        jurisdiction=jurisdiction, requester_name=requester_name, phone=phone, organization=organization,
        language=language, acknowledge=acknowledge, received_at=received_at, postal_address=postal_address,
        more_events=more_events, with_ticket=with_ticket,
        requester=None if message.sender_email.strip() else requester_without_email(
            name=requester_name or message.sender_name, phone=phone, organization=organization, language=language,
            postal_address=postal_address),
    )
    open_tickets([item], actor=actor)
    ticket = ticket_of(item)
    if on_behalf_of is not None:
        assert isinstance(item.stored, Message)
        record_representation(ticket=ticket, first_message=item.stored, on_behalf_of=on_behalf_of, actor=actor)
    return ticket


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
