"""Giving statutory notices: the PDF stored on the message that carries it, a row, an audit event.

Which notice an outcome needs is :func:`workflows.notices.notice_for`; how it reads is
:mod:`notifications.notices`. Here it is rendered, attached to the outbound mail of the outcome
(or to an internal note when it was given by post or phone), recorded and audited.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.fulfilment.config import ConfigError
from helpdesk.fulfilment.models import AccessPackage, PackageStatus
from helpdesk.fulfilment.register import entries_for
from helpdesk.models import Attachment, AuditEvent, Direction, Message, MessageKind, Ticket, User
from helpdesk.services.files import store_new_file
from helpdesk.trust import audit
from notifications import notices as documents
from notifications import services as notify
from notifications.models import NoticeDelivery, StatutoryNotice
from notifications.notice_texts import TITLES
from workflows.notices import NoticeKind, Outcome, notice_for
from workflows.request_types import RequestType

logger = logging.getLogger(__name__)


def give_notice(*, ticket: Ticket, kind: str, inputs: dict[str, Any], message: Message, actor: User | None,
                delivery: str = NoticeDelivery.EMAIL, now: datetime | None = None) -> StatutoryNotice:
    """Render the notice from ``inputs``, attach it to ``message`` (saved) and record it."""
    pdf = documents.render_pdf(inputs)
    digest = hashlib.sha256(pdf).hexdigest()
    attachment = Attachment(message=message, filename=documents.filename(inputs), size=len(pdf),
                            content_type="application/pdf", sha256=digest)
    store_new_file(attachment.file, "notice.pdf", pdf)
    attachment.save()
    notice = StatutoryNotice.objects.create(
        ticket=ticket, message=message, attachment=attachment, kind=kind, inputs=inputs, delivery=delivery,
        sha256=digest, created_at=now or timezone.now(), created_by=actor)
    audit.record_event(ticket=ticket, actor=actor, action="notice.given",
                       data={"kind": str(kind), "notice": notice.pk, "message": message.pk, "sha256": digest,
                             "delivery": str(delivery)})
    return notice


def attach_if_due(*, ticket: Ticket, outcome: str, message: Message, actor: User | None, now: datetime,
                  **details: Any) -> StatutoryNotice | None:
    """Attach the notice this outcome of this request needs to ``message`` (if the law names one)."""
    kind = notice_for(ticket.request_type, outcome)
    if kind is None:
        return None
    inputs = documents.notice_inputs(ticket, kind, issued_at=now, **details)
    return give_notice(ticket=ticket, kind=kind, inputs=inputs, message=message, actor=actor, now=now)


def outcome_details(ticket: Ticket, *, withheld: str = "", withheld_reason: str = "") -> tuple[str, dict[str, Any]]:
    """The outcome of a processed request and what its notice shows (what, when and how; what was done)."""
    if ticket.request_type == RequestType.ACCESS:
        package = (AccessPackage.objects.filter(ticket=ticket, status=PackageStatus.RELEASED)
                   .order_by("-released_at").first())
        details: dict[str, Any] = {"items": package.contents.get("tables", []) if package else []}
        found = {f"{t['source']}.{t['table']}" for t in details["items"]}
        details["register"] = register_lines(found)
        if package is None:  # carried out by hand (ManualFulfilment): the reply carried the copy
            details["by_hand"] = True
        else:
            details |= {"available_from": documents.local_day(package.released_at),
                        "available_until": documents.local_day(package.expires_at)}
        if withheld.strip():
            return Outcome.PARTIAL, details | {"withheld": withheld.strip(), "reason": withheld_reason}
        return Outcome.DONE, details
    processed = (AuditEvent.objects.filter(ticket=ticket, action="transition.process")
                 .order_by("-seq").values_list("data", flat=True).first()) or {}
    return Outcome.DONE, {"action": processed.get("note", ""), "done_on": documents.local_day(ticket.processed_at)}


def register_lines(found_tables: set[str]) -> list[dict[str, str]]:
    """Decree 41(1) 2-5 for the access notice: the register's entries that concern the requester."""
    try:
        entries = entries_for(found_tables)
    except ConfigError:
        logger.exception("the processing register cannot be read; the access notice points to the summary")
        return []
    return [line for entry in entries for line in entry.lines()]


def queue_outcome_notice(*, ticket: Ticket, actor: User | None, now: datetime,
                         **partial: str) -> StatutoryNotice | None:
    """On ``respond``: mail the result notice the law prescribes for this request, with its PDF."""
    outcome, details = outcome_details(ticket, **partial)
    kind = notice_for(ticket.request_type, outcome)
    if kind is None:
        return None
    inputs = documents.notice_inputs(ticket, kind, issued_at=now, **details)
    title = TITLES[kind]
    message = notify.queue_statutory_notice_mail(ticket=ticket, title=title, author=actor)
    return give_notice(ticket=ticket, kind=kind, inputs=inputs, message=message, actor=actor, now=now)


def record_notice_given(*, ticket: Ticket, kind: str, inputs: dict[str, Any], delivery: str,
                        actor: User) -> StatutoryNotice:
    """A notice given by post, phone or in person: kept on the ticket as an internal note with its PDF.

    The hook for channels other than mail: the same document, recorded with how it was given.
    """
    if delivery == NoticeDelivery.EMAIL:
        raise ValueError("mail notices are given by attach_if_due / queue_outcome_notice")
    now = timezone.now()
    note = Message.objects.create(
        ticket=ticket, direction=Direction.NOTE, kind=MessageKind.NOTE, sender=actor.email or actor.username,
        sender_name=str(actor), author=actor, subject=str(NoticeKind(kind).label),
        body_text=_("Notice given: %(kind)s (%(delivery)s).") % {
            "kind": NoticeKind(kind).label, "delivery": NoticeDelivery(delivery).label},
        sent_at=now)
    return give_notice(ticket=ticket, kind=kind, inputs=inputs, message=note, actor=actor, delivery=delivery, now=now)
