"""Who may call what. Object rules are the desk's own (:mod:`workflows.roles`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from helpdesk.models import Ticket
from workflows.roles import can_read_figures, can_use_desk, can_view_ticket, is_desk_staff, is_manager


class IsDeskStaff(BasePermission):
    """Privacy administrators and managers. Requesters have no accounts, hence no API."""

    # Lazy: DRF reads the message per request, in the language the request asked for.
    message = _("Only desk staff can use the API.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return can_use_desk(request.user)  # auditors read
        return is_desk_staff(request.user)


class CanReadFigures(BasePermission):
    message = _("Only managers and auditors can see the figures.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS and can_read_figures(request.user)


class IsManager(BasePermission):
    message = _("Only managers can do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_manager(request.user)


class StaffReadManagerWrite(BasePermission):
    """Read for desk staff, write for managers (request types' SLA policies)."""

    message = _("Only managers can change this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return can_use_desk(request.user)
        return is_manager(request.user)


class CanViewTicket(BasePermission):
    """Managers see every ticket; administrators their own and unassigned ones."""

    message = _("This ticket is assigned to someone else.")

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return isinstance(obj, Ticket) and can_view_ticket(request.user, obj)
