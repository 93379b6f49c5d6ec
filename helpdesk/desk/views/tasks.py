"""Tasks to departments, processors and providers from the ticket page (issue 26, point 6)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from helpdesk import services
from helpdesk.desk.task_forms import CloseTaskForm, TaskForm
from helpdesk.desk.views.common import add_field_errors, signed_in_user, staff_required, visible_ticket
from helpdesk.desk.views.tickets import _ticket_page as ticket_page


@staff_required
def send_task(request: HttpRequest, reference: str) -> HttpResponse:
    """Mail a task to a contact; a due date after the ticket's deadline is a field error."""
    if request.method != "POST":
        return redirect("desk:ticket", reference=reference)
    ticket = visible_ticket(request, reference)
    form = TaskForm(request.POST, ticket=ticket)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = services.send_task(ticket=ticket, actor=signed_in_user(request), contact=data["contact"],
                                      instructions=data["instructions"], due_date=data["due_date"],
                                      source=data["source"])
        except services.ServiceError as exc:
            if exc.http_status == 403:
                raise PermissionDenied(str(exc)) from exc
            add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
        else:
            messages.success(request, _("Task %(token)s sent to %(contact)s.") % {
                "token": task.token, "contact": task.contact})
            return redirect("desk:ticket", reference=reference)
    return ticket_page(request, ticket, status=400, bound={"task": form})


@staff_required
def close_task(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Close a task answered another way, or cancel one (``cancel=1``, a note saying why)."""
    if request.method != "POST":
        return redirect("desk:ticket", reference=reference)
    ticket = visible_ticket(request, reference)
    form = CloseTaskForm(request.POST)
    cancel = request.POST.get("cancel") == "1"
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.close_task(ticket=ticket, actor=signed_in_user(request), task_id=pk, note=note, cancel=cancel)
    except services.ServiceError as exc:
        if exc.http_status == 403:
            raise PermissionDenied(str(exc)) from exc
        return ticket_page(request, ticket, status=400, error=str(exc))
    messages.success(request, _("Task cancelled.") if cancel else _("Task closed."))
    return redirect("desk:ticket", reference=reference)
