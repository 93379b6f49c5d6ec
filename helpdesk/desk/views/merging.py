"""Merging a duplicate into the ticket that stays, with a confirmation step, and related tickets (issue 26)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk import selectors, services
from helpdesk.desk.forms import LinkForm, MergeForm
from helpdesk.desk.views.common import add_field_errors, signed_in_user, staff_required, visible_ticket
from helpdesk.desk.views.tickets import _ticket_page as ticket_page
from helpdesk.models import Ticket
from workflows.roles import can_act_on_ticket


def _other(request: HttpRequest, reference: str) -> Ticket | None:
    return selectors.ticket_for_user(signed_in_user(request), reference.strip())


@require_http_methods(["GET", "POST"])
@staff_required
def merge(request: HttpRequest, reference: str) -> HttpResponse:
    """Step 1: which ticket stays; step 2: what will move (and, across requesters, the confirmation); merge."""
    ticket = visible_ticket(request, reference)
    user = signed_in_user(request)
    if not can_act_on_ticket(user, ticket):
        raise PermissionDenied(_("Only the assigned administrator or a manager can do this."))
    form = MergeForm(request.POST or None, initial={"version": ticket.version})
    preview, into, status = None, None, 200
    if request.method == "POST" and form.is_valid():
        into = _other(request, form.cleaned_data["into"])
        try:
            if into is None:
                raise services.GuardError({"into": _("No ticket with this reference.")})
            preview = services.preview_merge(duplicate=ticket, into=into)
            if form.cleaned_data["confirmed"]:
                stays = services.merge_ticket(
                    duplicate=ticket, into=into, actor=user, expected_version=form.cleaned_data["version"],
                    confirm_other_requester=form.cleaned_data["confirm_other_requester"])
                messages.success(request, _("%(duplicate)s was merged into this ticket.") % {
                    "duplicate": ticket.reference})
                return redirect("desk:ticket", reference=stays.reference)
        except services.ServiceError as exc:
            if exc.http_status == 403:
                raise PermissionDenied(str(exc)) from exc
            add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
            preview = preview if isinstance(exc, services.GuardError) and "into" not in exc.errors else None
            status = 409 if exc.http_status == 409 else 400
    elif request.method == "POST":
        status = 400
    return render(request, "desk/merge.html", {"nav": "queues", "ticket": ticket, "form": form, "into": into,
                                               "preview": preview}, status=status)


@require_POST
@staff_required
def related(request: HttpRequest, reference: str) -> HttpResponse:
    """Link a related ticket (``remove=<reference>`` removes a link)."""
    ticket = visible_ticket(request, reference)
    form = LinkForm(request.POST, auto_id="id_link_%s")
    removing = request.POST.get("remove", "")
    try:
        if removing:
            other = ticket.related.filter(reference=removing).first()
            if other is None:
                raise services.GuardError({"other": _("These tickets are not linked.")})
            services.unlink_tickets(ticket=ticket, other=other, actor=signed_in_user(request))
            messages.success(request, _("The link was removed."))
            return redirect("desk:ticket", reference=reference)
        if form.is_valid():
            other = _other(request, form.cleaned_data["other"])
            if other is None:
                raise services.GuardError({"other": _("No ticket with this reference.")})
            services.link_tickets(ticket=ticket, other=other, actor=signed_in_user(request))
            messages.success(request, _("The tickets are linked."))
            return redirect("desk:ticket", reference=reference)
    except services.ServiceError as exc:
        if exc.http_status == 403:
            raise PermissionDenied(str(exc)) from exc
        add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
    return ticket_page(request, ticket, status=400, bound={"link": form})
