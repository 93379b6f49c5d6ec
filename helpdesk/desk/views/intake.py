"""Requests received by phone, letter, fax or in person, typed in by staff; notices given by hand."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from helpdesk import services
from helpdesk.desk.intake_forms import NoticeGivenForm, ParticipantForm, RepresentationCheckForm, StaffIntakeForm
from helpdesk.desk.views.common import add_field_errors, signed_in_user, staff_required, visible_ticket
from helpdesk.desk.views.tickets import _ticket_page as ticket_page
from helpdesk.models import Message


@staff_required
def new_ticket(request: HttpRequest) -> HttpResponse:
    """``/desk/tickets/new/``: the one form for a request that did not come by mail or the web form."""
    if request.method == "POST":
        form = StaffIntakeForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.create_ticket(
                    message=services.InboundMessage(
                        sender_email=data["requester_email"], sender_name=data["requester_name"],
                        subject=data["subject"], body_text=data["body_text"],
                        attachments=form.checked_attachments),
                    channel=data["channel"], request_type=data["request_type"], requester_name=data["requester_name"],
                    phone=data["phone"].strip(), postal_address=data["postal_address"],
                    organization=data["organization"], language=data["language"], actor=signed_in_user(request),
                    acknowledge=data["acknowledge"], received_at=data["received_at"],
                    on_behalf_of=form.on_behalf_of(),
                )
            except services.GuardError as exc:
                add_field_errors(form, exc.errors)
            else:
                messages.success(request, _("Request %(reference)s entered; its deadline runs from the time "
                                            "received.") % {"reference": ticket.reference})
                return redirect("desk:ticket", reference=ticket.reference)
        status = 400
    else:
        form = StaffIntakeForm()
        status = 200
    return render(request, "desk/ticket_new.html", {"nav": "new", "form": form}, status=status)


@staff_required
def notice_given(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Record how a notice that could not be mailed reached the requester (phone call, post…)."""
    if request.method != "POST":
        return redirect("desk:ticket", reference=reference)
    ticket = visible_ticket(request, reference)
    message = Message.objects.filter(pk=pk, ticket=ticket).first()
    if message is None:
        raise Http404
    form = NoticeGivenForm(request.POST, message_pk=message.pk)
    if form.is_valid():
        try:
            services.record_hand_delivery(ticket=ticket, message=message, method=form.cleaned_data["method"],
                                         given_at=form.cleaned_data["given_at"], actor=signed_in_user(request),
                                         note=form.cleaned_data["note"])
        except services.ServiceError as exc:
            if exc.http_status == 403:
                raise PermissionDenied(str(exc)) from exc
            add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
        else:
            messages.success(request, _("Recorded how the notice was given."))
            return redirect("desk:ticket", reference=reference)
    return ticket_page(request, ticket, status=400, notice_form=form)


@staff_required
def representation_check(request: HttpRequest, reference: str) -> HttpResponse:
    """Record how a representative's authority and the data subject's identity were checked."""
    if request.method != "POST":
        return redirect("desk:ticket", reference=reference)
    ticket = visible_ticket(request, reference)
    form = RepresentationCheckForm(request.POST)
    if form.is_valid():
        try:
            services.check_representation(ticket=ticket, actor=signed_in_user(request),
                                          authority_check=form.cleaned_data["authority_check"],
                                          subject_check=form.cleaned_data["subject_check"],
                                          note=form.cleaned_data["check_note"])
        except services.ServiceError as exc:
            if exc.http_status == 403:
                raise PermissionDenied(str(exc)) from exc
            add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
        else:
            messages.success(request, _("Recorded how the representation was checked; identity can be verified."))
            return redirect("desk:ticket", reference=reference)
    return ticket_page(request, ticket, status=400, bound={"representation": form})


@staff_required
def participants(request: HttpRequest, reference: str) -> HttpResponse:
    """Add someone who receives the replies (``remove=<id>`` stops it for one)."""
    if request.method != "POST":
        return redirect("desk:ticket", reference=reference)
    ticket = visible_ticket(request, reference)
    form = ParticipantForm(request.POST, auto_id="id_participant_%s")
    removing = request.POST.get("remove", "")
    try:
        if removing.isdigit():
            services.remove_participant(ticket=ticket, actor=signed_in_user(request), participant_id=int(removing))
            messages.success(request, _("They will no longer receive the replies."))
            return redirect("desk:ticket", reference=reference)
        if form.is_valid():
            services.add_participant(ticket=ticket, actor=signed_in_user(request), **form.cleaned_data)
            messages.success(request, _("They will receive the replies from now on."))
            return redirect("desk:ticket", reference=reference)
    except services.ServiceError as exc:
        if exc.http_status == 403:
            raise PermissionDenied(str(exc)) from exc
        add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
    return ticket_page(request, ticket, status=400, bound={"participants": form})
