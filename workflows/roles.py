"""Staff roles and the one rule for which tickets a staff member may see and act on.

Two groups carry the working roles; a superuser counts as a manager. A third, ``auditor``, is
read-only: it sees every ticket, the audit trail and the figures, and may change nothing (its
unsafe requests are refused in one place, helpdesk/readonly.py, and by the API's permissions).
:func:`ticket_scope` is the visibility rule: querysets filter with ``scope.q()`` and per-object checks ask
``scope.allows(ticket)``, so the desk, the API, exports and downloads cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

ADMINISTRATOR_GROUP = "privacy_administrator"
MANAGER_GROUP = "manager"
AUDITOR_GROUP = "auditor"


def _group_names(user: Any) -> set[str]:
    # Cached on the user object: the desk asks this many times per request.
    cached: set[str] | None = getattr(user, "_desk_group_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.pk else set()
        user._desk_group_names = cached
    return cached


def is_manager(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or MANAGER_GROUP in _group_names(user)


def is_administrator(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return ADMINISTRATOR_GROUP in _group_names(user)


def is_desk_staff(user: Any) -> bool:
    """A working role: may act on tickets (and be assigned them)."""
    return is_manager(user) or is_administrator(user)


def is_auditor(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return AUDITOR_GROUP in _group_names(user)


def is_read_only(user: Any) -> bool:
    """An auditor with no working role: every change is refused."""
    return is_auditor(user) and not is_desk_staff(user)


def can_use_desk(user: Any) -> bool:
    """May open the desk's pages and read through the API (working roles and auditors)."""
    return is_desk_staff(user) or is_auditor(user)


def can_read_figures(user: Any) -> bool:
    return is_manager(user) or is_auditor(user)


@dataclass(frozen=True)
class TicketScope:
    """Which tickets someone may see: all of them, or those assigned to one of ``assignees``.

    ``None`` in ``assignees`` stands for "unassigned" (administrators see those, to take them).
    """

    everything: bool
    assignees: frozenset[int | None] = frozenset()

    def q(self, prefix: str = "") -> Q:
        """The rule as a filter; ``prefix`` reaches tickets through a relation (``"tickets__"``)."""
        if self.everything:
            return Q()
        ids = {pk for pk in self.assignees if pk is not None}
        rule = Q(**{f"{prefix}assignee_id__in": ids}) if ids else Q(pk__in=[])
        if None in self.assignees:
            rule |= Q(**{f"{prefix}assignee__isnull": True})
        return rule

    def allows(self, ticket: Any) -> bool:
        """The same rule for one loaded ticket (no query)."""
        return self.everything or ticket.assignee_id in self.assignees


NOTHING = TicketScope(everything=False)


def ticket_scope(user: Any, *, unassigned: bool = True) -> TicketScope:
    """Managers see every ticket; administrators their own and (``unassigned``) the unassigned ones.

    Exports pass ``unassigned=False``: an administrator exports only their own tickets.
    """
    if is_manager(user) or is_auditor(user):
        return TicketScope(everything=True)
    if is_administrator(user):
        if not unassigned:
            return TicketScope(everything=False, assignees=frozenset({user.pk}))
        return TicketScope(everything=False, assignees=frozenset({user.pk, None, *covered_colleagues(user)}))
    return NOTHING


def covers_away_colleagues() -> bool:
    """DESK_COVER_AWAY_COLLEAGUES (on by default): administrators see the tickets of an administrator
    marked away, and may take them — someone covers while a colleague is on leave."""
    return bool(getattr(settings, "DESK_COVER_AWAY_COLLEAGUES", True))


def covered_colleagues(user: Any) -> frozenset[int]:
    """The away administrators whose tickets this administrator covers (cached on the user object)."""
    cached: frozenset[int] | None = getattr(user, "_desk_covered", None)
    if cached is None:
        cached = frozenset()
        if covers_away_colleagues() and user.pk:
            # The user's own model class: the domain layer imports no tables.
            cached = frozenset(user._meta.model._default_manager.filter(
                is_away=True, is_active=True, groups__name=ADMINISTRATOR_GROUP).exclude(pk=user.pk)
                .values_list("pk", flat=True))
        user._desk_covered = cached
    return cached


def may_take(user: Any, ticket: Any) -> bool:
    """An administrator takes an open ticket nobody has, or one of an away colleague they cover."""
    if not is_administrator(user) or not ticket.is_open or ticket.assignee_id == user.pk:
        return False
    return ticket.assignee_id is None or ticket.assignee_id in covered_colleagues(user)


def can_view_ticket(user: Any, ticket: Any) -> bool:
    return ticket_scope(user).allows(ticket)


def can_act_on_ticket(user: Any, ticket: Any) -> bool:
    """Managers act on every ticket; an administrator on the tickets assigned to them; auditors on none
    (what an auditor sees through their role, they may not act on)."""
    if is_manager(user):
        return True
    return is_administrator(user) and ticket.assignee_id == user.pk
