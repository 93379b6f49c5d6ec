"""Reads for the API. Each returns a queryset whose page costs a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from helpdesk import selectors as desk_selectors
from helpdesk.models import Attachment, Message, Quarantine, Requester, Ticket
from workflows.roles import ticket_scope


def api_tickets(user: Any) -> QuerySet[Ticket]:
    """Tickets the user may see, with requester and assignee joined (list pages)."""
    return desk_selectors.visible_tickets(user).select_related("requester", "assignee")


def api_ticket_detail_queryset() -> QuerySet[Ticket]:
    """Every ticket with its whole conversation (notes included: only staff call the API).

    Visibility is checked per object (403 rather than 404, like the desk), hence not filtered here.
    """
    messages = Message.objects.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    ).order_by("sent_at", "pk")
    return Ticket.objects.select_related("requester", "assignee", "entered_by", "merged_into").prefetch_related(
        Prefetch("messages", queryset=messages), "merged_tickets", "related",
    )


def ticket_by_reference(user: Any, reference: str) -> Ticket | None:
    """Another ticket named in a request's body (merge, link), if this user may see it."""
    return desk_selectors.visible_tickets(user).filter(reference=reference).first()


def ticket_messages(ticket: Ticket) -> QuerySet[Message]:
    return ticket.messages.prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    ).order_by("sent_at", "pk")


def api_requesters(user: Any) -> QuerySet[Requester]:
    """Managers see every requester; administrators those with a ticket they can see."""
    scope = ticket_scope(user)
    qs = Requester.objects.all()
    if not scope.everything:
        qs = qs.filter(pk__in=Requester.objects.filter(scope.q("tickets__")).values("pk"))
    return qs.annotate(ticket_count=Count("tickets")).order_by("email")


def api_quarantine() -> QuerySet[Quarantine]:
    return Quarantine.objects.select_related("ticket", "resolved_by").order_by("-received_at", "-pk")
