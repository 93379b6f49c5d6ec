"""Staff roles. Two groups carry them; a superuser counts as a manager."""

from __future__ import annotations

from typing import Any

ADMINISTRATOR_GROUP = "privacy_administrator"
MANAGER_GROUP = "manager"


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
    return is_manager(user) or is_administrator(user)


def can_act_on_ticket(user: Any, ticket: Any) -> bool:
    """Managers act on every ticket; an administrator on the tickets assigned to them."""
    if is_manager(user):
        return True
    return is_administrator(user) and ticket.assignee_id == user.pk


def can_view_ticket(user: Any, ticket: Any) -> bool:
    """Managers see all; administrators their own and unassigned ones (to take them)."""
    if is_manager(user):
        return True
    return is_administrator(user) and ticket.assignee_id in (None, user.pk)
