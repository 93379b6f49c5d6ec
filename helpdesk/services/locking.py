"""The ticket's row lock and optimistic-lock ``version``: every write to a ticket starts here."""

from __future__ import annotations

from django.utils.translation import gettext as _

from helpdesk.models import Ticket, User
from helpdesk.services.errors import ConflictError, PermissionDeniedError
from workflows.roles import can_act_on_ticket


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    """A stale form (``expected_version`` behind the row) gets a clear conflict, never a clobber."""
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(_(
            "Someone else changed this ticket while you were working on it. "
            "Reload it to see their change, then try again."
        ))


def lock_ticket(ticket: Ticket, expected_version: int | None = None) -> Ticket:
    """The ticket's row, locked until the transaction ends (keeps its audit chain linear)."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    check_version(locked, expected_version)
    return locked


def lock_for_staff(ticket: Ticket, actor: User, expected_version: int | None) -> Ticket:
    """:func:`lock_ticket` with the requester joined, for the assigned administrator or a manager only."""
    locked = Ticket.objects.select_for_update().select_related("requester").get(pk=ticket.pk)
    check_version(locked, expected_version)
    if not can_act_on_ticket(actor, locked):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    return locked


def bump(ticket: Ticket) -> None:
    """Save the ticket with its optimistic-lock version advanced.

    Every caller holds the ticket's row lock (or has just created it), so the in-memory version
    is current and a plain increment is exact; no re-read needed.
    """
    ticket.version += 1
    ticket.save()
