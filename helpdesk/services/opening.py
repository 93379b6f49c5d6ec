"""Opening tickets, one or many at once: the one path every new ticket takes (Zulip's
``do_send_messages(list)`` shape).

``create_ticket`` opens one; mail intake (``helpdesk.intake.batch``) hands a whole batch, where a
requester's mail may also go onto a stored ticket or onto a ticket opened earlier in the same list.
Either way the same rules run, once per list: the requester is found or added (details filled in),
references are reserved, deadlines computed, assignees dealt, the first messages stored, the
acknowledgement limit applied, the audit events chained, versions advanced — with a few statements
per list instead of per ticket.

Locks are taken in one order — stored tickets (the caller's, by id), new requesters (by address),
the reference counter, the administrators — so concurrent writers queue rather than deadlock. The
last two are shared by every writer, so they are taken as late as possible (issue 31): new tickets
are written with a provisional reference and no assignee, their messages stored and their
acknowledgements rendered first; then ``numbering.number_and_assign`` fills both in, and only the
acknowledgements' hourly count and the inserts of the acknowledgements and of the audit events (one
INSERT) remain before COMMIT.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from helpdesk.models import (
    Attachment,
    AuditEvent,
    Channel,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Requester,
    Ticket,
    User,
)
from helpdesk.services.assignment import assigned_event_data
from helpdesk.services.bulk import insert_rows
from helpdesk.services.files import database_files_together
from helpdesk.services.messages import InboundMessage, build_message, received_event
from helpdesk.services.numbering import number_and_assign, provisional_reference
from helpdesk.services.requesters import fill_in_requester, normalize_email
from helpdesk.trust import audit
from notifications import services as notify
from workflows import sla
from workflows.calendar import LegalCalendar
from workflows.request_types import Jurisdiction, RequestType
from workflows.states import TicketState

logger = logging.getLogger(__name__)


@dataclass
class TicketToOpen:
    """One ticket to open with its first message; ``ticket`` and ``stored`` are set once written."""

    message: InboundMessage
    channel: str
    request_type: str | None = None
    suggested_request_type: str = ""
    jurisdiction: str = Jurisdiction.KR
    requester_name: str = ""
    phone: str = ""
    organization: str = ""
    language: str | None = None
    acknowledge: bool = True
    received_at: datetime | None = None  # when the clock starts; None: from the message (ticket_received_at)
    postal_address: str = ""
    requester: Requester | None = None  # found beforehand: someone without an e-mail address (issue 26)
    ticket: Ticket | None = None
    stored: Message | None = None
    name_when_filed: str = ""  # the requester's name as it stood when this item was filed
    # More events for the new ticket's chain, after "created" and "assigned" (one INSERT for all):
    # dicts of audit.build_event's keyword arguments, e.g. the Contact Us consent.
    more_events: tuple[dict[str, Any], ...] = ()
    # Rows that belong with the new ticket but need neither its reference nor its assignee (the
    # Contact Us details): written once the ticket is stored, before the shared locks are taken.
    with_ticket: Callable[[Ticket], None] | None = None

    @property
    def state(self) -> str:
        return TicketState.RECEIVED  # a ticket opens in this state; mail on it in the same list does not move it


@dataclass
class MailOnTicket:
    """A requester's message filed on a ticket that does not move: a stored ticket (row-locked by the
    caller) or one opened earlier in the same list."""

    message: InboundMessage
    kind: str  # MessageKind.MAIL, or AUTO (kept for staff; the version stays)
    target: Ticket | TicketToOpen
    stored: Message | None = None

    @property
    def ticket(self) -> Ticket:
        return ticket_of(self.target) if isinstance(self.target, TicketToOpen) else self.target


def ticket_of(item: TicketToOpen | MailOnTicket) -> Ticket:
    """The ticket an item went to, once :func:`open_tickets` wrote it."""
    if isinstance(item, MailOnTicket):
        return item.ticket
    assert item.ticket is not None
    return item.ticket


@transaction.atomic(savepoint=False)  # a caller's transaction is enough: nothing here is retried alone
def open_tickets(items: Sequence[TicketToOpen | MailOnTicket], *, actor: User | None = None) -> None:
    """Write ``items`` in order: open each :class:`TicketToOpen`, file each :class:`MailOnTicket`.

    ``actor``: the staff member entering the tickets (None: the requesters themselves)."""
    if not items:
        return
    new = [item for item in items if isinstance(item, TicketToOpen)]
    _open(new, items, actor)
    _store_messages(items)
    for item in new:
        if item.with_ticket is not None:
            item.with_ticket(ticket_of(item))
    acks = _render_acknowledgements([item for item in new if item.acknowledge])
    final = number_and_assign([ticket_of(item) for item in new])  # the shared locks, from here to COMMIT
    _acknowledge(acks, final)
    _audit(items, actor)
    _bump_stored(items)


def _open(new: list[TicketToOpen], items: Sequence[TicketToOpen | MailOnTicket], actor: User | None) -> None:
    if not new:
        return
    # A requester's mail on a ticket advances its version (locking.bump), even in the same list.
    answered = Counter(id(item.target) for item in items
                       if isinstance(item, MailOnTicket) and item.kind == MessageKind.MAIL)
    requesters = _requesters(new)
    policies, calendar = sla.policy_table(), LegalCalendar.from_db()
    for item in new:
        ticket = build_ticket(
            message=item.message, channel=item.channel,
            requester=item.requester or requesters[item.message.sender_email],
            received_at=item.received_at or ticket_received_at(item.message, item.channel),
            reference=provisional_reference(), request_type=item.request_type,
            suggested_request_type=item.suggested_request_type, jurisdiction=item.jurisdiction,
            policies=policies, calendar=calendar,
        )
        if actor is not None and (item.channel not in (Channel.EMAIL, Channel.WEB) or item.received_at is not None):
            ticket.entered_by = actor  # a request typed in by staff (phone, letter, fax, visit)
        ticket.version += answered[id(item)]  # number_and_assign adds the assignment's
        item.ticket = ticket
    insert_rows([ticket_of(item) for item in new])


def _requesters(new: list[TicketToOpen]) -> dict[str, Requester]:
    """Every sender's requester (address → requester), added or with the details they lacked filled in."""
    new = [item for item in new if item.requester is None]  # the others were found without an address
    if not new:
        return {}
    for item in new:
        item.message.sender_email = normalize_email(item.message.sender_email)
    found = {r.email or "": r for r in Requester.objects.filter(email__in={item.message.sender_email for item in new})}
    created: list[Requester] = []
    changed: dict[str, tuple[Requester, set[str]]] = {}

    def fill_in(requester: Requester, details: dict[str, str]) -> None:
        fields = fill_in_requester(requester, **details)
        if fields:
            changed.setdefault(requester.email or "", (requester, set()))[1].update(fields)

    for item in new:
        email = item.message.sender_email
        details = {"name": item.requester_name or item.message.sender_name, "phone": item.phone,
                   "organization": item.organization, "postal_address": item.postal_address}
        requester = found.get(email)
        if requester is None:
            requester = Requester(email=email, language=item.language or "ko")
            fill_in_requester(requester, **details)
            found[email] = requester
            created.append(requester)
        elif requester.pk is not None:
            fill_in(requester, details)
        else:
            fill_in_requester(requester, **details)  # added by this list: still unsaved
        item.name_when_filed = requester.name
    if created:
        # In address order, so two writers adding the same new requesters queue, not deadlock. One
        # that added a requester first wins: this list uses its row, filling in what it lacks.
        insert_rows(sorted(created, key=lambda r: r.email or ""), ignore_conflicts=True)
        stored = {r.email or "": r for r in Requester.objects.filter(email__in=[r.email for r in created])}
        for requester in created:
            row = found[requester.email or ""] = stored[requester.email or ""]
            fill_in(row, {"name": requester.name, "phone": requester.phone, "organization": requester.organization,
                          "postal_address": requester.postal_address})
    if changed:
        rows = [changed[email] for email in sorted(changed)]
        Requester.objects.bulk_update([row for row, _fields in rows], sorted(set().union(*(f for _r, f in rows))))
    return found


def _store_messages(items: Sequence[TicketToOpen | MailOnTicket]) -> None:
    attachments: list[Attachment] = []
    with database_files_together():  # the raw mails: one INSERT
        for item in items:
            kind = item.kind if isinstance(item, MailOnTicket) else MessageKind.MAIL
            ticket = ticket_of(item)
            stored, files = build_message(ticket=ticket, direction=Direction.INBOUND, kind=kind, message=item.message,
                                          # the staff member who took a phone or letter request down
                                          author=ticket.entered_by if isinstance(item, TicketToOpen) else None)
            item.stored = stored
            attachments.extend(files)
    insert_rows([item.stored for item in items if item.stored is not None])
    insert_rows(attachments)


@dataclass
class _Acknowledgement:
    ticket: Ticket
    message: Message
    provisional: str  # the reference the body was rendered with


def _render_acknowledgements(new: list[TicketToOpen]) -> list[_Acknowledgement]:
    """Each new ticket's acknowledgement, rendered outside the locks with the provisional reference."""
    if not new:
        return []
    tickets: list[tuple[Ticket, tuple[str, list[str]]]] = []
    for item in new:
        ticket, first = ticket_of(item), item.stored
        assert first is not None
        # The ticket's only message so far is the requester's: that is the whole thread.
        thread = (first.message_id, [first.message_id] if first.message_id else [])
        if ticket.requester.name != item.name_when_filed:
            # A later item in this list gave the name; one at a time, this one was answered before.
            ticket = copy.copy(ticket)
            ticket.requester = copy.copy(ticket.requester)
            ticket.requester.name = item.name_when_filed
        tickets.append((ticket, thread))
    acks = notify.acknowledgements(tickets)
    return [_Acknowledgement(ticket_of(item), ack, ticket_of(item).reference)
            for item, ack in zip(new, acks, strict=True)]


def _acknowledge(acks: list[_Acknowledgement], final: dict[str, str]) -> None:
    """Store the rendered acknowledgements with their final reference, within the per-sender limit."""
    if not acks:
        return
    sent = Counter(notify.recent_acknowledgements([ack.ticket.requester_id for ack in acks]))
    kept: list[Message] = []
    for ack in acks:
        ticket, message = ack.ticket, ack.message
        if ticket.entered_by_id is None and sent[ticket.requester_id] >= notify.ACK_LIMIT_PER_HOUR:
            logger.info("acknowledgement for %s suppressed: sender rate limit", ticket.reference)
            continue
        sent[ticket.requester_id] += 1
        reference = final[ack.provisional]
        message.ticket = ticket
        message.subject = message.subject.replace(ack.provisional, reference)
        message.body_text = message.body_text.replace(ack.provisional, reference)
        kept.append(message)
    insert_rows(kept)
    pks = [message.pk for message in kept if message.delivery_status == DeliveryStatus.PENDING]  # not those by hand
    if pks:
        transaction.on_commit(lambda: notify.enqueue_many(pks), robust=True)


def _audit(items: Sequence[TicketToOpen | MailOnTicket], actor: User | None) -> None:
    """The events, chained per ticket, in one INSERT: opened (and assigned), or a message received."""
    stored = {item.target.pk for item in items if isinstance(item, MailOnTicket) and isinstance(item.target, Ticket)}
    tips: dict[int, tuple[int, str]] = {}
    if stored:
        last_seq = AuditEvent.objects.filter(ticket_id=OuterRef("ticket_id")).order_by("-seq").values("seq")[:1]
        rows = AuditEvent.objects.filter(ticket_id__in=stored, seq=Subquery(last_seq))
        tips = {ticket_id: (seq, hash_) for ticket_id, seq, hash_ in rows.values_list("ticket_id", "seq", "hash")}
    events: list[AuditEvent] = []

    def append(ticket: Ticket, by: User | None, **fields: Any) -> None:
        event = audit.build_event(ticket=ticket, actor=by, after=tips.get(ticket.pk), **fields)
        tips[ticket.pk] = (event.seq, event.hash)
        events.append(event)

    for item in items:
        ticket = ticket_of(item)
        if isinstance(item, TicketToOpen):
            append(ticket, actor, **created_event(ticket, actor))
            if ticket.assignee is not None:
                append(ticket, None, action="ticket.assigned",
                       data=assigned_event_data(None, ticket.assignee, "automatic"))
            for fields in item.more_events:
                append(ticket, None, **fields)
        else:
            assert item.stored is not None
            append(ticket, None, **received_event(item.stored))
    insert_rows(events)
    audit.announce(events)


def _bump_stored(items: Sequence[TicketToOpen | MailOnTicket]) -> None:
    """A requester's mail on a stored ticket advances its optimistic-lock version (locking.bump)."""
    bumps = Counter(item.target.pk for item in items if isinstance(item, MailOnTicket)
                    and isinstance(item.target, Ticket) and item.kind == MessageKind.MAIL)
    by_count: dict[int, list[int]] = defaultdict(list)
    for pk, count in bumps.items():
        by_count[count].append(pk)
    now = timezone.now()
    for count, pks in by_count.items():
        Ticket.objects.filter(pk__in=pks).update(version=F("version") + count, updated_at=now)




def build_ticket(
    *,
    message: InboundMessage,
    channel: str,
    requester: Requester,
    received_at: datetime,
    reference: str,
    request_type: str | None = None,
    suggested_request_type: str = "",
    jurisdiction: str = Jurisdiction.KR,
    policies: sla.PolicyTable | None = None,
    calendar: LegalCalendar | None = None,
) -> Ticket:
    """A new ticket, unsaved, with its deadline. ``policies``/``calendar`` save queries in bulk."""
    chosen_type = request_type or suggested_request_type or RequestType.OTHER
    policy = sla.policy_for(chosen_type, jurisdiction, policies)
    return Ticket(
        reference=reference,
        request_type=chosen_type,
        suggested_request_type=suggested_request_type,
        jurisdiction=jurisdiction,
        subject=(message.subject or "(no subject)")[:300],
        requester=requester,
        channel=channel,
        received_at=received_at,
        due_at=sla.compute_due_at(received_at, policy, calendar),
    )


def created_event(ticket: Ticket, actor: User | None) -> dict[str, Any]:
    """The ``ticket.created`` audit event's fields."""
    return {
        "actor_name": f"requester <{ticket.requester.email}>" if actor is None else None,
        "action": "ticket.created",
        "to_state": ticket.state,
        "data": {"channel": ticket.channel, "request_type": ticket.request_type, "due_at": ticket.due_at.isoformat(),
                 **({"received_at": ticket.received_at.isoformat(), "entered_by": str(ticket.entered_by)}
                    if ticket.entered_by_id else {})},
    }


# A client's clock may run a little ahead of ours; beyond this a received time is in the future.
CLOCK_SKEW = timedelta(minutes=2)


def ticket_received_at(message: InboundMessage, channel: str) -> datetime:
    """When the clock starts: the mail's Date if plausible, else now."""
    received_at = message.sent_at if channel == Channel.EMAIL and message.sent_at else timezone.now()
    # Mail can carry any Date header; never let it put the deadline in the past or far future.
    now = timezone.now()
    if received_at > now or received_at < now - timedelta(days=7):
        received_at = now
    return received_at
