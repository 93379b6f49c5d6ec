"""The case record of a ticket, for the regulator: one PDF with everything the desk did and when.

The Personal Information Protection Commission may ask how a request was handled. The record
states the request, how identity was checked, every notice and mail sent, every transition and
other event with who and when, the fulfilment (data found, released, erased), the fee quoted, the
ticket's audit chain as verified now, and the deadline and whether it was met. A period's records
are one ZIP (managers). Rendered with WeasyPrint, like the notices.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation

from helpdesk import services
from helpdesk.fulfilment.models import AccessPackage, DataLookup, ErasurePlan, ManualFulfilment
from helpdesk.models import AuditEvent, Direction, FeeQuote, Message, Ticket, User
from helpdesk.trust.audit_verify import verify_ticket_chain
from notifications.models import StatutoryNotice
from workflows.notices import NoticeKind
from workflows.request_types import RequestType
from workflows.states import TicketState, VerificationMethod

BODY_LIMIT = 4000  # characters of the request's text: the record is a summary, the ticket keeps the rest


def _both(choices: Any, value: str) -> str:
    """A choice's label as "한국어 / English"."""
    if value not in choices.values:
        return value or "—"
    labels = []
    for language in ("ko", "en"):
        with translation.override(language):
            labels.append(str(choices(value).label))
    return labels[0] if labels[0] == labels[1] else " / ".join(labels)


def deadline_outcome(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """Whether the legal deadline was met: answered by it, answered late, still open (overdue or not)."""
    answered = ticket.responded_at
    if answered is not None:
        met = answered <= ticket.due_at
        return {"answered_at": answered, "met": met,
                "label": "기한 내 처리 / Met" if met else "기한 초과 처리 / Missed (answered late)"}
    if ticket.state == TicketState.WITHDRAWN:
        return {"answered_at": None, "met": None, "label": "요구 취하 / Withdrawn by the requester"}
    if ticket.due_at < now:
        return {"answered_at": None, "met": False, "label": "미처리, 기한 초과 / Open and overdue"}
    return {"answered_at": None, "met": None, "label": "처리 중 (기한 전) / Open, not yet due"}


def record_context(ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    first = ticket.messages.filter(direction=Direction.INBOUND).order_by("sent_at", "id").first()
    body = (first.body_text if first else "") or ""
    checked, problems = verify_ticket_chain(ticket)
    events = list(AuditEvent.objects.filter(ticket=ticket).order_by("seq"))
    notices = list(StatutoryNotice.objects.filter(ticket=ticket).select_related("message", "attachment")
                   .order_by("created_at", "id"))
    outbound = list(Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).order_by("sent_at", "id"))
    return {
        "ticket": ticket,
        "now": now,
        "request_type": _both(RequestType, ticket.request_type),
        "state": _both(TicketState, ticket.state),
        "verification_method": _both(VerificationMethod, ticket.verification_method),
        "body": body[:BODY_LIMIT] + ("…" if len(body) > BODY_LIMIT else ""),
        "notices": [{"notice": n, "label": _both(NoticeKind, n.kind)} for n in notices],
        "outbound": outbound,
        "events": events,
        "transitions": [e for e in events if e.action.startswith("transition.")],
        "tasks": [],  # the desk has no task list yet; the record says so rather than leaving it out
        "lookups": list(DataLookup.objects.filter(ticket=ticket).order_by("created_at", "id")),
        "packages": list(AccessPackage.objects.filter(ticket=ticket).order_by("built_at", "id")),
        "erasures": list(ErasurePlan.objects.filter(ticket=ticket).order_by("id")),
        "manual": list(ManualFulfilment.objects.filter(ticket=ticket).order_by("id")),
        "fees": list(FeeQuote.objects.filter(ticket=ticket).order_by("quoted_at", "id")),
        "chain": {"checked": checked, "problems": [str(p) for p in problems], "intact": not problems},
        "deadline": deadline_outcome(ticket, now),
    }


def render_record_pdf(ticket: Ticket, now: datetime | None = None) -> bytes:
    import weasyprint

    with translation.override("ko"):
        html = render_to_string("records/case_record.html", record_context(ticket, now))
    return bytes(weasyprint.HTML(string=html).write_pdf())


def record_filename(ticket: Ticket) -> str:
    return f"{ticket.reference}-case-record.pdf"


def record_response(ticket: Ticket, user: User) -> HttpResponse:
    """The record as a download (desk and API); the export goes into the ticket's audit trail."""
    services.record_ticket_access(ticket=ticket, actor=user, action="record.exported")
    response = HttpResponse(render_record_pdf(ticket), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{record_filename(ticket)}"'
    response["Cache-Control"] = "private, no-store"
    return response


def records_zip(tickets: Iterable[Ticket], now: datetime | None = None) -> bytes:
    """A period's case records, one PDF per ticket, in one ZIP."""
    now = now or timezone.now()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for ticket in tickets:
            archive.writestr(record_filename(ticket), render_record_pdf(ticket, now))
    return buffer.getvalue()
