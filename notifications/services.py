"""What the desk tells requesters, recorded as outbound messages and mailed by Celery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from helpdesk import tasking
from helpdesk.base_url import desk_base_url
from helpdesk.models import DeliveryStatus, Direction, Message, MessageKind, Participant, Ticket, User
from notifications.mail import (
    new_message_id,
    render_bilingual,
    render_bilingual_many,
    subject_with_reference,
    thread_headers,
)
from workflows.request_types import RequestType
from workflows.states import RejectionReason

logger = logging.getLogger(__name__)

# At most this many acknowledgements per sender per hour: a mail loop or a flood gets silence.
ACK_LIMIT_PER_HOUR = 3


def _context(ticket: Ticket, **extra: object) -> dict[str, object]:
    context: dict[str, object] = {
        "ticket": ticket,
        "requester": ticket.requester,
        "due_at": timezone.localtime(ticket.due_at),
        "desk_email": settings.DESK_EMAIL,
        "base_url": desk_base_url(),
        **extra,
    }
    if "requester_name" not in context:  # the greeting: never an unconfirmed stranger's words
        context["requester_name"] = ticket.name_for_mail()
    return context


def queue_outbound_message(
    *, ticket: Ticket, body_text: str, kind: str, author: User | None = None, subject: str | None = None
) -> Message:
    """Record an outbound message and mail it after the transaction commits."""
    message = outbound_message(ticket=ticket, body_text=body_text, kind=kind, author=author, subject=subject)
    if message.delivery_status == DeliveryStatus.PENDING:  # participants (issue 26) receive it in Cc
        message.recipients += list(Participant.objects.filter(ticket=ticket, removed_at__isnull=True)
                                   .order_by("pk").values_list("email", flat=True))
    message.save()
    _enqueue_if_mailed(message)
    return message


def _enqueue_if_mailed(message: Message) -> None:
    """Mail it after commit, unless it is to be given by phone or post (no address to mail)."""
    if message.delivery_status == DeliveryStatus.PENDING:
        transaction.on_commit(lambda: _enqueue(message.pk))


def outbound_message(
    *,
    ticket: Ticket,
    body_text: str,
    kind: str,
    author: User | None = None,
    subject: str | None = None,
    thread: tuple[str, list[str]] | None = None,
) -> Message:
    """The outbound Message, unsaved. ``thread`` (In-Reply-To, References) saves a query when known."""
    in_reply_to, references = thread if thread is not None else thread_headers(ticket)
    message_id = new_message_id()
    return Message(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        kind=kind,
        sender=settings.DESK_EMAIL,
        sender_name=str(author) if author else "Privacy Desk",
        author=author,
        recipients=[ticket.requester.email] if ticket.requester.email else [],
        subject=subject_with_reference(ticket, subject or f"Re: {ticket.subject_for_mail()}"),
        body_text=body_text,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=" ".join(references),
        sent_at=timezone.now(),
        delivery_status=DeliveryStatus.PENDING if ticket.requester.email else DeliveryStatus.TO_GIVE,
    )


def _enqueue(message_pk: int) -> None:
    # Broker down: the message stays pending and the sweep retries it.
    tasking.enqueue("notifications.tasks.deliver_message", message_pk)


def enqueue_many(message_pks: list[int]) -> None:
    """Mail many recorded messages in one task over one connection (call after commit)."""
    tasking.enqueue("notifications.tasks.deliver_messages", message_pks)


def recent_acknowledgements(requester_ids: list[int]) -> dict[int, int]:
    """Acknowledgements each requester was sent in the last hour (for the rate limit)."""
    since = timezone.now() - timedelta(hours=1)
    rows = (
        Message.objects.filter(kind=MessageKind.ACKNOWLEDGEMENT, ticket__requester_id__in=requester_ids,
                               sent_at__gte=since)
        .values("ticket__requester_id").annotate(n=Count("id")).values_list("ticket__requester_id", "n")
    )
    return dict(rows)


def acknowledgement(*, ticket: Ticket, thread: tuple[str, list[str]] | None = None) -> Message:
    """The acknowledgement for a new ticket, unsaved: its reference and its legal deadline."""
    return acknowledgements([(ticket, thread)])[0]


def acknowledgements(tickets: Sequence[tuple[Ticket, tuple[str, list[str]] | None]]) -> list[Message]:
    """:func:`acknowledgement` of each ``(ticket, thread)``: a batch of new tickets at once."""
    # Intake renders two of these per new ticket, so the template reads plain values: the label
    # (lazy: rendered in each language) rather than get_request_type_display, which rebuilds the
    # choices on every call, and the reference and name as top-level variables, which the template
    # engine finds at once (``ticket.reference`` first tries ``ticket["reference"]`` and handles the
    # TypeError: a third of a render).
    bodies = render_bilingual_many("acknowledgement", [
        (_context(ticket, request_type=RequestType(ticket.request_type).label, reference=ticket.reference,
                  requester_name=ticket.name_for_mail()), ticket.requester.language)
        for ticket, _thread in tickets])
    return [outbound_message(ticket=ticket, body_text=body, kind=MessageKind.ACKNOWLEDGEMENT, thread=thread,
                             subject=f"[{ticket.reference}] 접수 확인 / Request received: {ticket.subject_for_mail()}")
            for (ticket, thread), body in zip(tickets, bodies, strict=True)]


def queue_acknowledgement(*, ticket: Ticket, rate_limited: bool = True) -> Message | None:
    """Tell the requester we have their request, unless they were sent ACK_LIMIT_PER_HOUR already.

    ``rate_limited=False`` for a request a staff member typed in: no mail loop can cause it.
    """
    sent = recent_acknowledgements([ticket.requester_id]).get(ticket.requester_id, 0) if rate_limited else 0
    if sent >= ACK_LIMIT_PER_HOUR:
        logger.info("acknowledgement for %s suppressed: sender rate limit", ticket.reference)
        return None
    message = acknowledgement(ticket=ticket)
    message.save()
    _enqueue_if_mailed(message)
    return message


def queue_rejection_notice(*, ticket: Ticket, reason: str, explanation: str, author: User | None) -> Message:
    body = render_bilingual(
        "rejection",
        _context(ticket, reason=RejectionReason(reason), explanation=explanation),
        ticket.requester.language,
    )
    return queue_outbound_message(ticket=ticket, body_text=body, kind=MessageKind.REPLY, author=author)


def queue_withdrawal_notice(*, ticket: Ticket) -> Message:
    body = render_bilingual("withdrawal", _context(ticket), ticket.requester.language)
    return queue_outbound_message(ticket=ticket, body_text=body, kind=MessageKind.NOTICE)


def queue_subject_notice(*, ticket: Ticket, subject_email: str, subject_name: str, relation: str) -> Message:
    """Tell the data subject that a representative made a request in their name (Act Art. 38(1))."""
    # Typed names go to a typed address only once the representative's own address is confirmed:
    # before that the mail must not relay a stranger's words (issue 25, point 11).
    confirmed = ticket.address_confirmed()
    body = render_bilingual("made_in_your_name", _context(
        ticket, subject_name=subject_name if confirmed else "", relation=relation,
        representative=str(ticket.requester) if confirmed else "",
        request_type=RequestType(ticket.request_type).label), ticket.requester.language)
    message = outbound_message(ticket=ticket, body_text=body, kind=MessageKind.NOTICE,
                               subject=f"[{ticket.reference}] 대리 요청 안내 / A request made in your name")
    message.recipients = [subject_email]
    message.delivery_status = DeliveryStatus.PENDING
    message.save()
    _enqueue_if_mailed(message)
    return message


def queue_statutory_notice_mail(*, ticket: Ticket, title: dict[str, str], author: User | None) -> Message:
    """The mail that carries a result notice (the PDF is attached by ``helpdesk.services.notices``)."""
    body = render_bilingual("statutory_notice", _context(ticket, title_ko=title["ko"], title_en=title["en"]),
                            ticket.requester.language)
    subject = f"[{ticket.reference}] {title['ko']} / {title['en']}"
    return queue_outbound_message(ticket=ticket, body_text=body, kind=MessageKind.NOTICE, author=author,
                                  subject=subject)
