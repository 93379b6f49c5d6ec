"""Opening one ticket: the requester, the reference, the deadline, the first message, the assignee."""

from __future__ import annotations

from django.db import transaction

from helpdesk.models import Ticket, User
from helpdesk.services.messages import InboundMessage
from helpdesk.services.opening import TicketToOpen, open_tickets, ticket_of
from workflows.request_types import Jurisdiction


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
) -> Ticket:
    """Open a ticket with its first message, assign it, start its clock, acknowledge it.

    One item of :func:`~helpdesk.services.opening.open_tickets`, the path every new ticket takes.
    """
    item = TicketToOpen(
        message=message, channel=channel, request_type=request_type, suggested_request_type=suggested_request_type,
        jurisdiction=jurisdiction, requester_name=requester_name, phone=phone, organization=organization,
        language=language, acknowledge=acknowledge,
    )
    open_tickets([item], actor=actor)
    return ticket_of(item)
