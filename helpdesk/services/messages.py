"""Messages on a ticket: what a requester sent, internal notes, replies to the requester."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Attachment, DeliveryStatus, Direction, Message, MessageKind, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.files import store_new_file
from helpdesk.services.locking import bump, lock_for_staff, lock_ticket
from helpdesk.services.requesters import normalize_email
from helpdesk.services.transitions import run_transition
from helpdesk.tasking import enqueue
from helpdesk.trust import audit
from notifications import services as notify
from workflows.states import TicketState


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    is_inline: bool = False


@dataclass
class InboundMessage:
    """What intake knows about one message from a requester, whatever the channel."""

    sender_email: str
    body_text: str
    subject: str = ""
    sender_name: str = ""
    body_html: str = ""
    sent_at: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: Sequence[str] = ()
    dedupe_key: str | None = None
    raw_message: bytes | None = None
    attachments: Sequence[NewAttachment] = field(default_factory=tuple)
    recipients: Sequence[str] = ()


SYSTEM_NAME = "Privacy Desk"  # the author of notes the desk writes itself

# A requester's mail moves a ticket in these states (resume, reopen); in others it is just filed.
STATES_A_MAIL_MOVES = (TicketState.AWAITING_REQUESTER, TicketState.RESPONDED, TicketState.REJECTED)


def store_message(
    *, ticket: Ticket, direction: str, kind: str, message: InboundMessage, author: User | None = None
) -> Message:
    stored, attachments = build_message(ticket=ticket, direction=direction, kind=kind, message=message,
                                        author=author)
    stored.save()
    for attachment in attachments:
        attachment.save()
    return stored


def build_message(
    *, ticket: Ticket, direction: str, kind: str, message: InboundMessage, author: User | None = None
) -> tuple[Message, list[Attachment]]:
    """The Message row and its Attachment rows, unsaved; their files are already in storage."""
    stored = Message(
        ticket=ticket,
        direction=direction,
        kind=kind,
        sender=normalize_email(message.sender_email),
        sender_name=message.sender_name[:200],
        author=author,
        recipients=list(message.recipients),
        subject=message.subject[:500],
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=message.message_id[:998],
        in_reply_to=message.in_reply_to[:998],
        references=" ".join(message.references),
        dedupe_key=message.dedupe_key,
        sent_at=message.sent_at or timezone.now(),
    )
    if message.raw_message is not None:
        store_new_file(stored.raw_message, "raw.eml", message.raw_message)
    attachments = []
    for item in message.attachments:
        attachment = Attachment(
            message=stored,
            filename=item.filename[:255],
            size=len(item.data),
            content_type=item.content_type[:100],
            sha256=hashlib.sha256(item.data).hexdigest(),
            content_id=item.content_id[:255],
            is_inline=item.is_inline,
        )
        store_new_file(attachment.file, "upload", item.data)
        attachments.append(attachment)
    return stored, attachments


def received_event(stored: Message) -> dict[str, Any]:
    """The audit event's fields for a requester's message filed on an existing ticket."""
    return {"actor_name": f"requester <{stored.sender}>",
            "action": "message.received" if stored.kind == MessageKind.MAIL else "message.auto_received",
            "data": {"message": stored.pk}}


@transaction.atomic
def add_inbound_message(*, ticket: Ticket, message: InboundMessage, kind: str = MessageKind.MAIL) -> Message:
    """A requester wrote again: file it, resume a paused clock, reopen an answered ticket."""
    locked = lock_ticket(ticket)
    stored = store_message(ticket=locked, direction=Direction.INBOUND, kind=kind, message=message)
    audit.record_event(ticket=locked, actor=None, **received_event(stored))
    if kind == MessageKind.MAIL:
        if locked.state == TicketState.AWAITING_REQUESTER:
            run_transition(locked, "resume", actor=None, as_requester=True, data={})
        elif locked.state in (TicketState.RESPONDED, TicketState.REJECTED):
            run_transition(locked, "reopen", actor=None, as_requester=True,
                           data={"reason": "requester wrote again"})
        else:
            bump(locked)
    ticket.refresh_from_db()
    return stored


@transaction.atomic
def add_note(*, ticket: Ticket, author: User, body_text: str) -> Message:
    """An internal note: visible to staff only, never mailed."""
    if not body_text.strip():
        raise GuardError({"body_text": _("A note cannot be empty.")})
    locked = lock_for_staff(ticket, author, expected_version=None)
    note = store_message(
        ticket=locked, direction=Direction.NOTE, kind=MessageKind.NOTE, author=author,
        message=InboundMessage(sender_email=author.email or author.username, sender_name=str(author),
                               body_text=body_text),
    )
    audit.record_event(ticket=locked, actor=author, action="note.added", data={"message": note.pk})
    bump(locked)
    return note


@transaction.atomic
def add_system_note(*, ticket: Ticket, body_text: str, action: str, data: dict[str, Any] | None = None) -> Message:
    """A note the desk writes itself (intake's "check this mail", a bounced mail): staff only, audited."""
    locked = lock_ticket(ticket)
    note = store_message(ticket=locked, direction=Direction.NOTE, kind=MessageKind.NOTE,
                         message=InboundMessage(sender_email="", sender_name=SYSTEM_NAME, body_text=body_text))
    audit.record_event(ticket=locked, actor=None, actor_name=SYSTEM_NAME, action=action,
                       data={"message": note.pk, **(data or {})})
    bump(locked)
    ticket.refresh_from_db()
    return note


@transaction.atomic
def record_bounce(*, message: Message, body_text: str, report: dict[str, Any]) -> Message:
    """A delivery report says our ``message`` to the requester failed: mark it bounced (never retried),
    tell staff on the ticket (a note, audited) and mail the assigned administrator (or the managers)."""
    locked = lock_ticket(message.ticket)
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.BOUNCED)
    note = store_message(ticket=locked, direction=Direction.NOTE, kind=MessageKind.NOTE,
                         message=InboundMessage(sender_email="", sender_name=SYSTEM_NAME, body_text=body_text))
    audit.record_event(ticket=locked, actor=None, actor_name=SYSTEM_NAME, action="delivery.bounced",
                       data={"message": message.pk, "note": note.pk, **report})
    bump(locked)
    transaction.on_commit(lambda: enqueue("notifications.tasks.alert_bounce", note.pk))
    return note


@transaction.atomic
def send_reply(
    *,
    ticket: Ticket,
    author: User,
    body_text: str,
    expected_version: int | None = None,
    and_respond: bool = False,
    kind: str = MessageKind.REPLY,
) -> Message:
    """Mail an answer to the requester (via Celery after commit) and record it."""
    if not body_text.strip():
        raise GuardError({"body_text": _("A reply cannot be empty.")})
    locked = lock_for_staff(ticket, author, expected_version)
    reply = notify.queue_outbound_message(ticket=locked, body_text=body_text, kind=kind, author=author)
    audit.record_event(ticket=locked, actor=author, action="reply.sent", data={"message": reply.pk})
    if locked.first_response_at is None:
        locked.first_response_at = reply.sent_at
    if and_respond:
        run_transition(locked, "respond", actor=author, as_requester=False, data={})
    else:
        bump(locked)
    ticket.refresh_from_db()
    return reply
