"""Quarantine review: mail intake could not file, for a person to convert, attach or discard."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk.views.common import service_error_page, signed_in_user, staff_required
from helpdesk.desk.views.files import private_file
from helpdesk.desk.views.queues import PAGE_SIZE
from helpdesk.intake.review import message_reader
from helpdesk.models import Quarantine, QuarantineStatus


@require_GET
@staff_required
def quarantine_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", QuarantineStatus.PENDING)
    if status not in QuarantineStatus.values and status != "":
        status = QuarantineStatus.PENDING
    items: QuerySet[Quarantine] = selectors.quarantine_list(status)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "desk/quarantine_list.html", {
        "page": page, "status": status, "statuses": QuarantineStatus.choices,
        "nav": "quarantine",
    })


def _quarantine_page(request: HttpRequest, item: Quarantine, *, status: int = 200,
                     bound: dict[str, Any] | None = None, error: str = "") -> HttpResponse:
    bound = bound or {}
    preview, truncated = selectors.raw_preview(item.raw_message)
    return render(request, "desk/quarantine_detail.html", {
        "item": item,
        "preview": preview,
        "truncated": truncated,
        "convert_form": bound.get("convert") or desk_forms.QuarantineConvertForm(
            initial={"sender_email": _address_of(item.sender), "request_type": "other"}),
        "attach_form": bound.get("attach") or desk_forms.QuarantineAttachForm(),
        "discard_form": bound.get("discard") or desk_forms.QuarantineDiscardForm(),
        "error": error,
        "nav": "quarantine",
        "page_url": reverse("desk:quarantine_detail", kwargs={"pk": item.pk}),
    }, status=status)


def _address_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address if "@" in address else ""


@require_GET
@staff_required
def quarantine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _quarantine_page(request, get_object_or_404(Quarantine, pk=pk))


@require_GET
@staff_required
def quarantine_raw(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(Quarantine, pk=pk)
    return private_file(item.raw_message, f"quarantine-{item.pk}.eml", "message/rfc822")


@require_POST
@staff_required
def quarantine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    item = get_object_or_404(Quarantine, pk=pk)
    user = signed_in_user(request)
    form: Any
    try:
        if action == "convert":
            form = desk_forms.QuarantineConvertForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                ticket = services.convert_quarantine_to_ticket(
                    quarantine_pk=item.pk, actor=user, request_type=data["request_type"],
                    read_message=message_reader(sender_email=data["sender_email"], sender_name=data["sender_name"]))
                messages.success(request, _("Ticket %(ref)s opened from the message.") % {"ref": ticket.reference})
                return redirect("desk:ticket", reference=ticket.reference)
        elif action == "attach":
            form = desk_forms.QuarantineAttachForm(request.POST)
            if form.is_valid():
                ref = form.cleaned_data["reference"].strip().upper()
                target = selectors.ticket_for_user(user, ref)
                if target is None:
                    form.add_error("reference", _("No ticket %(ref)s that you can see.") % {"ref": ref})
                else:
                    services.attach_quarantine_to_ticket(quarantine_pk=item.pk, actor=user, ticket=target,
                                                         read_message=message_reader())
                    messages.success(request, _("The message was added to %(ref)s.") % {"ref": ref})
                    return redirect("desk:ticket", reference=ref)
        elif action == "discard":
            form = desk_forms.QuarantineDiscardForm(request.POST)
            if form.is_valid():
                services.discard_quarantine(quarantine_pk=item.pk, actor=user, reason=form.cleaned_data["reason"])
                messages.success(request, _("Discarded. The raw message is kept for the retention period."))
                return redirect("desk:quarantine")
        else:
            raise Http404
    except services.ServiceError as exc:
        def page(status: int, error: services.ServiceError) -> HttpResponse:
            if status == 409:
                item.refresh_from_db()
                return _quarantine_page(request, item, status=409, error=str(error))
            return _quarantine_page(request, item, status=400, bound={action: form})

        return service_error_page(exc, form, page)
    return _quarantine_page(request, item, status=400, bound={action: form})
