"""Who works a ticket: automatic dealing to the named administrators, taking, reassigning, away."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Ticket, User
from helpdesk.services.errors import GuardError, PermissionDeniedError
from helpdesk.services.locking import bump, lock_ticket
from helpdesk.trust import audit
from workflows.roles import ADMINISTRATOR_GROUP, is_administrator, is_desk_staff, is_manager, may_take
from workflows.states import OPEN_STATES


def assignable_administrators() -> Any:
    return User.objects.filter(is_active=True, is_away=False, groups__name=ADMINISTRATOR_GROUP)


def pick_assignee() -> User | None:
    """The active administrator with the fewest open tickets; ties go to whoever waited longest.

    Candidate rows are locked, so two tickets created at once are dealt out fairly.
    """
    return deal_assignees(1)[0]


def deal_assignees(count: int) -> list[User | None]:
    """Assignees for ``count`` new tickets, as ``count`` calls of :func:`pick_assignee` would deal them.

    The candidates' rows are locked first (only theirs, not the group tables they are found by); their
    open tickets are counted after, in a statement of its own, so that on PostgreSQL the count sees
    what whoever held the lock committed (a count in the locking statement would be read before the
    wait). The count is index-only on ``(assignee, state, due_at)``.
    """
    users = list(assignable_administrators().select_for_update(of=("self",)).order_by("pk"))
    if not users:
        return [None] * count
    open_counts: dict[int, int] = dict(
        Ticket.objects.filter(assignee_id__in=[user.pk for user in users], state__in=OPEN_STATES).order_by()
        .values("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n"))
    now = timezone.now()
    dealt: list[User | None] = []
    for n in range(count):
        # Fewest open tickets, then never assigned, then assigned longest ago, then the oldest account.
        user = min(users, key=lambda u: (open_counts.get(u.pk, 0), u.last_assigned_at is not None,
                                         u.last_assigned_at or now, u.pk))
        dealt.append(user)
        open_counts[user.pk] = open_counts.get(user.pk, 0) + 1
        user.last_assigned_at = now + timedelta(microseconds=n)
    return dealt


def assigned_event_data(previous: User | None, assignee: User | None, how: str) -> dict[str, Any]:
    return {"from": previous.username if previous else None, "to": assignee.username if assignee else None,
            "how": how}


def auto_assign(*, ticket: Ticket) -> User | None:
    assignee = pick_assignee()
    if assignee is not None:
        _set_assignee(ticket, assignee, actor=None, how="automatic")
    return assignee


@transaction.atomic
def assign_ticket(*, ticket: Ticket, assignee: User | None, actor: User,
                  expected_version: int | None = None) -> Ticket:
    """Take a ticket (an administrator, for themselves) or reassign it (a manager)."""
    locked = lock_ticket(ticket, expected_version)
    taking = assignee is not None and assignee.pk == actor.pk and (
        (locked.assignee_id == actor.pk and is_administrator(actor)) or may_take(actor, locked))
    if not (is_manager(actor) or taking):
        raise PermissionDeniedError(_("Only a manager can reassign a ticket."))
    if assignee is not None and not is_desk_staff(assignee):
        raise GuardError({"assignee": _("Tickets can only be assigned to desk staff.")})
    _set_assignee(locked, assignee, actor=actor, how="take" if taking else "manual")
    ticket.refresh_from_db()
    return locked


def _set_assignee(ticket: Ticket, assignee: User | None, *, actor: User | None, how: str) -> None:
    previous = ticket.assignee
    ticket.assignee = assignee
    bump(ticket)
    if assignee is not None:
        User.objects.filter(pk=assignee.pk).update(last_assigned_at=timezone.now())
    audit.record_event(ticket=ticket, actor=actor, action="ticket.assigned",
                       data=assigned_event_data(previous, assignee, how))


@transaction.atomic
def set_away(*, user: User, away: bool, actor: User) -> None:
    if actor.pk != user.pk and not is_manager(actor):
        raise PermissionDeniedError(_("Only managers can change someone else's availability."))
    User.objects.filter(pk=user.pk).update(is_away=away)
    user.is_away = away
    audit.record_event(ticket=None, actor=actor, action="staff.away" if away else "staff.back",
                       data={"user": user.username})
