"""Quarantine: mail intake could not file, kept with its raw bytes for a person to review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Channel, Message, Quarantine, QuarantineStatus, Ticket, User
from helpdesk.services.errors import ConflictError, GuardError, PermissionDeniedError
from helpdesk.services.files import store_new_file
from helpdesk.services.messages import InboundMessage, add_inbound_message
from helpdesk.services.tickets import create_ticket
from helpdesk.trust import audit
from workflows.request_types import RequestType
from workflows.roles import can_act_on_ticket, is_desk_staff

# How the reviewer's choice reads the quarantined bytes as a message (intake's parser, best effort).
MessageReader = Callable[[Quarantine], InboundMessage]


@transaction.atomic
def quarantine_message(
    *,
    raw_message: bytes,
    dedupe_key: str,
    reason: str,
    detail: str = "",
    source: str = "",
    sender: str = "",
    subject: str = "",
    status: str = QuarantineStatus.PENDING,
) -> tuple[Any, bool]:
    """Keep mail intake could not file — raw bytes unchanged — for a person to review.

    Stored once per ``dedupe_key`` (sha256 of the bytes): returns ``(item, created)``; a
    concurrent ingester inserting the same key loses the race quietly and gets the winner's row.
    ``status=IGNORED``: automatic mail intake set aside, listed apart from what waits for review.
    """
    existing = Quarantine.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    item = Quarantine(
        reason=reason[:64], detail=detail, source=source[:500], size=len(raw_message), sender=sender[:320],
        subject=subject[:500], dedupe_key=dedupe_key, received_at=timezone.now(), status=status,
    )
    store_new_file(item.raw_message, "raw.eml", raw_message)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        item.raw_message.delete(save=False)
        return Quarantine.objects.get(dedupe_key=dedupe_key), False
    if status == QuarantineStatus.PENDING:
        audit.record_event(ticket=None, actor=None, actor_name="mail intake", action="mail.quarantined",
                           data={"quarantine": item.pk, "reason": item.reason, "source": item.source})
    return item, True


def _review(quarantine_pk: int, actor: User) -> Quarantine:
    if not is_desk_staff(actor):
        raise PermissionDeniedError(_("Only desk staff can review quarantined mail."))
    item = Quarantine.objects.select_for_update().get(pk=quarantine_pk)
    if item.status not in (QuarantineStatus.PENDING, QuarantineStatus.IGNORED):
        raise ConflictError(_("Someone else already reviewed this message."))
    return item


def _resolve(item: Quarantine, status: str, actor: User, ticket: Ticket | None = None) -> None:
    item.status, item.ticket, item.resolved_by, item.resolved_at = status, ticket, actor, timezone.now()
    item.save(update_fields=["status", "ticket", "resolved_by", "resolved_at"])


@transaction.atomic
def convert_quarantine_to_ticket(*, quarantine_pk: int, actor: User, request_type: str,
                                 read_message: MessageReader) -> Ticket:
    """A person decided the quarantined mail is a real request: open a ticket with it."""
    item = _review(quarantine_pk, actor)
    if request_type not in RequestType.values:
        raise GuardError({"request_type": _("Unknown request type.")})
    ticket = create_ticket(message=read_message(item), channel=Channel.EMAIL, request_type=request_type, actor=actor)
    _resolve(item, QuarantineStatus.CONVERTED, actor, ticket)
    audit.record_event(ticket=None, actor=actor, action="quarantine.converted",
                       data={"quarantine": item.pk, "ticket": ticket.reference})
    return ticket


@transaction.atomic
def attach_quarantine_to_ticket(*, quarantine_pk: int, actor: User, ticket: Ticket,
                                read_message: MessageReader) -> Message:
    """File the quarantined mail on an existing ticket, as if the requester had written again."""
    item = _review(quarantine_pk, actor)
    if not can_act_on_ticket(actor, ticket):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    message = add_inbound_message(ticket=ticket, message=read_message(item))
    _resolve(item, QuarantineStatus.ATTACHED, actor, ticket)
    audit.record_event(ticket=None, actor=actor, action="quarantine.attached",
                       data={"quarantine": item.pk, "ticket": ticket.reference})
    return message


@transaction.atomic
def discard_quarantine(*, quarantine_pk: int, actor: User, reason: str = "") -> None:
    """Not a request (spam, garbage): marked discarded, raw bytes kept for the retention period."""
    item = _review(quarantine_pk, actor)
    _resolve(item, QuarantineStatus.DISCARDED, actor)
    audit.record_event(ticket=None, actor=actor, action="quarantine.discarded",
                       data={"quarantine": item.pk, "reason": reason[:500]})
