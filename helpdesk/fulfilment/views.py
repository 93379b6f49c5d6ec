"""Thin views over :mod:`helpdesk.fulfilment.services`: POST actions from the ticket page (which
redirect back to it with a message) and the permission-checked downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import services
from helpdesk.desk.views.common import service_error_page, signed_in_user, staff_required, visible_ticket
from helpdesk.desk.views.files import private_file
from helpdesk.fulfilment import erasure as fulfilment_erasure
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment import summary
from helpdesk.fulfilment.models import AccessPackage, DataLookup, ErasurePlan
from helpdesk.models import Ticket, User
from helpdesk.public import tokens

_user = signed_in_user


def _back(reference: str) -> HttpResponse:
    return redirect(reverse("desk:ticket", kwargs={"reference": reference}) + "#fulfilment")


def _run(request: HttpRequest, reference: str, action: Callable[[Ticket, User], Any], success: str) -> HttpResponse:
    """Run a service action; its expected errors come back as a message on the ticket page."""
    ticket = visible_ticket(request, reference)
    try:
        action(ticket, _user(request))
    except services.ServiceError as exc:  # by the status it carries, like the rest of the desk
        # The card's buttons carry no fields: whatever the error says goes back as messages.
        form = forms.Form(data={})

        def back_with_messages(status: int, error: services.ServiceError) -> HttpResponse:
            texts = [str(error)] if status == 409 else [str(text) for errors in form.errors.values() for text in errors]
            for text in texts:
                messages.error(request, text)
            return _back(reference)

        return service_error_page(exc, form, back_with_messages)
    messages.success(request, success)
    return _back(reference)


def _unconfirmed(request: HttpRequest, reference: str) -> HttpResponse | None:
    """An irreversible step runs only with its confirmation box ticked (the page says what will happen)."""
    if request.POST.get("confirm") == "yes":
        return None
    messages.error(request, _("Nothing was done: tick the box to confirm, after reading what will happen."))
    return _back(reference)


@require_POST
@staff_required
def start_lookup(request: HttpRequest, reference: str) -> HttpResponse:
    return _run(request, reference, lambda t, u: fulfilment.start_lookup(ticket=t, actor=u),
                _("Looking up the requester's personal data."))


@require_POST
@staff_required
def retry_lookup(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    lookup = get_object_or_404(DataLookup, pk=pk, ticket__reference=reference)
    return _run(request, reference, lambda t, u: fulfilment.retry_lookup(lookup=lookup, actor=u),
                _("Asking the failed sources again."))


@require_POST
@staff_required
def build_package(request: HttpRequest, reference: str) -> HttpResponse:
    return _run(request, reference, lambda t, u: fulfilment.build_access_package(ticket=t, actor=u),
                _("The access package is built: review it, then release it."))


@require_POST
@staff_required
def release_package(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    package = get_object_or_404(AccessPackage, pk=pk, ticket__reference=reference)
    if (refused := _unconfirmed(request, reference)) is not None:
        return refused
    return _run(request, reference, lambda t, u: fulfilment.release_access_package(package=package, actor=u),
                _("Released: the requester can download it from the status page."))


@require_POST
@staff_required
def preview_erasure(request: HttpRequest, reference: str) -> HttpResponse:
    return _run(request, reference, lambda t, u: fulfilment_erasure.preview_erasure(ticket=t, actor=u),
                _("Check the preview below, then approve the erasure."))


@require_POST
@staff_required
def approve_erasure(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    plan = get_object_or_404(ErasurePlan, pk=pk, ticket__reference=reference)
    if (refused := _unconfirmed(request, reference)) is not None:
        return refused
    return _run(request, reference, lambda t, u: fulfilment_erasure.approve_erasure(plan=plan, actor=u),
                _("Erasure approved and started."))


@require_POST
@staff_required
def retry_erasure(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    plan = get_object_or_404(ErasurePlan, pk=pk, ticket__reference=reference)
    return _run(request, reference, lambda t, u: fulfilment_erasure.retry_erasure(plan=plan, actor=u),
                _("Retrying the tables that failed."))


@require_POST
@staff_required
def report_erasure(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    plan = get_object_or_404(ErasurePlan, pk=pk, ticket__reference=reference)
    return _run(request, reference, lambda t, u: fulfilment_erasure.send_erasure_report(plan=plan, actor=u),
                _("The requester was sent what was erased and what is kept."))


@require_POST
@staff_required
def record_manual(request: HttpRequest, reference: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _run(request, reference, lambda t, u: fulfilment.record_manual_fulfilment(ticket=t, actor=u, reason=reason),
                _("Recorded why the request was carried out by hand."))


def _staff_package(request: HttpRequest, reference: str, pk: int) -> AccessPackage:
    ticket = visible_ticket(request, reference)
    return get_object_or_404(AccessPackage.objects.select_related("ticket"), pk=pk, ticket=ticket)


@require_GET
@staff_required
def review_package(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The package's bilingual summary, exactly as the requester will get it, for review."""
    package = _staff_package(request, reference, pk)
    services.record_ticket_access(ticket=package.ticket, actor=_user(request), action="fulfilment.package_reviewed",
                                  data={"package": package.pk})
    return render(request, "fulfilment/review.html", {"package": package, "nav": "queues",
                                                      **summary.package_context(package, ("ko", "en"))})


@require_GET
@staff_required
def staff_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    package = _staff_package(request, reference, pk)
    services.record_ticket_access(ticket=package.ticket, actor=_user(request), action="fulfilment.package_downloaded",
                                  data={"package": package.pk})
    return private_file(package.file, package.filename, "application/zip")


def _requester_package(request: HttpRequest, token: str, pk: int) -> AccessPackage | HttpResponse:
    """The requester's own status link opens only their own released, unexpired package."""
    try:
        ticket = tokens.check_link(token, tokens.STATUS).ticket
    except tokens.InvalidLink:
        return render(request, "public/link_invalid.html", status=404)
    package = AccessPackage.objects.filter(pk=pk, ticket=ticket).select_related("ticket", "lookup").first()
    if package is None or not package.is_downloadable():
        return render(request, "fulfilment/package_gone.html", {"ticket": ticket, "token": token}, status=410
                      if package is not None else 404)
    return package


@require_GET
def requester_download(request: HttpRequest, token: str, pk: int) -> HttpResponseBase:
    package = _requester_package(request, token, pk)
    if isinstance(package, HttpResponse):
        return package
    fulfilment.record_package_download(package=package)
    return private_file(package.file, package.filename, "application/zip")


@require_GET
def requester_summary(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """The package's summary as a page (readable on a phone without unpacking the ZIP), in the reader's language."""
    package = _requester_package(request, token, pk)
    if isinstance(package, HttpResponse):
        return package
    fulfilment.record_package_download(package=package, viewed=True)
    language = translation.get_language() or "ko"
    return render(request, "fulfilment/requester_summary.html", {
        "package": package, "token": token, **summary.package_context(package, (language[:2],))})
