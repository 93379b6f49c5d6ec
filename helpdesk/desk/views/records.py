"""The ticket page's statutory notices panel: fees quoted to the requester and the case record."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import case_record as records
from helpdesk import services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk.views.common import signed_in_user, staff_required, visible_ticket
from helpdesk.desk.views.tickets import _act
from helpdesk.models import Ticket, User


@require_POST
@staff_required
def fee(request: HttpRequest, reference: str) -> HttpResponse:
    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.quote_fee(ticket=ticket, actor=user, fee=data["fee"], postage=data["postage"],
                           company_cause=data["company_cause"], basis=data["basis"], expected_version=data["version"])

    return _act(request, reference, "fee", desk_forms.FeeForm(request.POST), run,
                _("Fee and postage recorded and mailed to the requester."))


@require_GET
@staff_required
def case_record(request: HttpRequest, reference: str) -> HttpResponse:
    """The ticket's case record as a PDF (the API's ``record.pdf``, from the desk)."""
    return records.record_response(visible_ticket(request, reference), signed_in_user(request))
