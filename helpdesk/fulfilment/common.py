"""What the fulfilment services share: task names, the ticket lock, the state check, the sources."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk import services, tasking
from helpdesk.fulfilment import selectors
from helpdesk.fulfilment.config import SourceConfig, configured_sources
from helpdesk.fulfilment.models import DataLookup
from helpdesk.models import Ticket, User

LOOKUP_TASK = "helpdesk.fulfilment.tasks.run_lookup"
ERASURE_TASK = "helpdesk.fulfilment.tasks.run_erasure"


def enqueue_after_commit(task: str, *args: Any) -> None:
    """After commit, by name: services do not import the task module (it imports them)."""
    transaction.on_commit(lambda: tasking.enqueue(task, *args))


def lock_ticket_for(ticket: Ticket, actor: User) -> Ticket:
    """The ticket's row for the assigned administrator or a manager (keeps the audit chain linear)."""
    return services.lock_for_staff(ticket, actor, None)


def require_verified(ticket: Ticket) -> None:
    if ticket.state not in selectors.FULFILMENT_STATES:
        raise services.TransitionNotAllowedError(
            _("Personal data is looked up and released or erased only while the ticket is verified "
              "(identity checked) and not yet processed."))


def four_eyes_on() -> bool:
    return bool(getattr(settings, "DESK_FOUR_EYES", False))


def require_second_person(first: User | None, actor: User, message: str) -> None:
    """With DESK_FOUR_EYES the person who prepared an irreversible step may not also carry it out."""
    if four_eyes_on() and first is not None and first.pk == actor.pk:
        raise services.GuardError({"four_eyes": message})


def four_eyes_record(first: User | None, actor: User) -> dict[str, Any]:
    """What the audit trail keeps about the two people behind an irreversible step."""
    return {"prepared_by": first.get_username() if first else None, "four_eyes": four_eyes_on(),
            "second_person": first is not None and first.pk != actor.pk}


def data_sources() -> tuple[SourceConfig, ...]:
    try:
        sources = configured_sources()
    except ValueError as exc:
        raise services.GuardError({"sources": str(exc)}) from exc
    if not sources:
        raise services.GuardError({"sources": _("No data sources are configured (DESK_DATA_SOURCES).")})
    return sources


def complete_lookup(ticket: Ticket) -> DataLookup:
    lookup = selectors.latest_lookup(ticket)
    if lookup is None or lookup.is_running:
        raise services.GuardError({"lookup": _("Look up the requester's personal data first.")})
    if not lookup.is_complete:
        raise services.GuardError({"lookup": _("Some sources failed (%(names)s): retry them first, so nothing "
                                                "is missed.") % {"names": ", ".join(lookup.failed_sources)}})
    return lookup
