"""The access log: staff opening a ticket or downloading its files is written to its audit chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.services.locking import lock_ticket
from helpdesk.trust import audit

VIEW_LOG_MINUTES = 10


@transaction.atomic
def record_ticket_access(*, ticket: Ticket, actor: User, action: str, data: dict[str, Any] | None = None) -> None:
    """Log staff access to a ticket's personal data (a download, a view) in its audit chain."""
    locked = lock_ticket(ticket)  # keeps the audit chain linear
    audit.record_event(ticket=locked, actor=actor, action=action, data=data)


def record_ticket_view(*, ticket: Ticket, actor: User) -> bool:
    """Log that staff opened a ticket, at most once per user and ticket per 10 minutes."""
    since = timezone.now() - timedelta(minutes=VIEW_LOG_MINUTES)
    if AuditEvent.objects.filter(ticket=ticket, action="ticket.viewed", actor_id=actor.pk, at__gte=since).exists():
        return False
    record_ticket_access(ticket=ticket, actor=actor, action="ticket.viewed")
    return True
