"""Opening tickets, one or many at once: the one path every new ticket takes (Zulip's
``do_send_messages(list)`` shape).

``create_ticket`` opens one; mail intake (``helpdesk.intake.batch``) hands a whole batch, where a
requester's mail may also go onto a stored ticket or onto a ticket opened earlier in the same list.
Either way the same rules run, once per list: the requester is found or added (details filled in),
references are reserved, deadlines computed, assignees dealt, the first messages stored, the
acknowledgement limit applied, the audit events chained, versions advanced — with a few statements
per list instead of per ticket.

Locks are taken in one order — stored tickets (the caller's, by id), new requesters (by address),
the reference counter, the administrators — so concurrent writers queue rather than deadlock.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from helpdesk.models import Attachment, AuditEvent, Channel, Direction, Message, MessageKind, Requester, Ticket, User
from helpdesk.services.assignment import assigned_event_data, deal_assignees
from helpdesk.services.bulk import insert_rows
from helpdesk.services.files import database_files_together
from helpdesk.services.messages import InboundMessage, build_message, received_event
from helpdesk.services.requesters import fill_in_requester, normalize_email, reserve_references
from helpdesk.trust import audit
from notifications import services as notify
from workflows import sla
from workflows.calendar import LegalCalendar, local_date
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
    ticket: Ticket | None = None
    stored: Message | None = None
    name_when_filed: str = ""  # the requester's name as it stood when this item was filed

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
    _open(new, items)
    _store_messages(items)
    _acknowledge([item for item in new if item.acknowledge])
    _audit(items, actor)
    _bump_stored(items)


def _open(new: list[TicketToOpen], items: Sequence[TicketToOpen | MailOnTicket]) -> None:
    if not new:
        return
    # A requester's mail on a ticket advances its version (locking.bump), even in the same list.
    answered = Counter(id(item.target) for item in items
                       if isinstance(item, MailOnTicket) and item.kind == MessageKind.MAIL)
    requesters = _requesters(new)
    policies, calendar = sla.policy_table(), LegalCalendar.from_db()
    received = [item.received_at or ticket_received_at(item.message, item.channel) for item in new]
    references = _references(received)
    assignees = deal_assignees(len(new))
    for item, received_at, reference, assignee in zip(new, received, references, assignees, strict=True):
        ticket = build_ticket(
            message=item.message, channel=item.channel, requester=requesters[item.message.sender_email],
            received_at=received_at, reference=reference, request_type=item.request_type,
            suggested_request_type=item.suggested_request_type, jurisdiction=item.jurisdiction,
            policies=policies, calendar=calendar,
        )
        ticket.assignee = assignee
        ticket.version += (assignee is not None) + answered[id(item)]  # an assignment advances it too
        item.ticket = ticket
    insert_rows([ticket_of(item) for item in new])
    for user in {assignee.pk: assignee for assignee in assignees if assignee is not None}.values():
        User.objects.filter(pk=user.pk).update(last_assigned_at=user.last_assigned_at)


def _requesters(new: list[TicketToOpen]) -> dict[str, Requester]:
    """Every sender's requester (address → requester), added or with the details they lacked filled in."""
    for item in new:
        item.message.sender_email = normalize_email(item.message.sender_email)
    found = {r.email: r for r in Requester.objects.filter(email__in={item.message.sender_email for item in new})}
    created: list[Requester] = []
    changed: dict[str, tuple[Requester, set[str]]] = {}

    def fill_in(requester: Requester, details: dict[str, str]) -> None:
        fields = fill_in_requester(requester, **details)
        if fields:
            changed.setdefault(requester.email, (requester, set()))[1].update(fields)

    for item in new:
        email = item.message.sender_email
        details = {"name": item.requester_name or item.message.sender_name, "phone": item.phone,
                   "organization": item.organization}
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
        insert_rows(sorted(created, key=lambda r: r.email), ignore_conflicts=True)
        stored = {r.email: r for r in Requester.objects.filter(email__in=[r.email for r in created])}
        for requester in created:
            row = found[requester.email] = stored[requester.email]
            fill_in(row, {"name": requester.name, "phone": requester.phone, "organization": requester.organization})
    if changed:
        rows = [changed[email] for email in sorted(changed)]
        Requester.objects.bulk_update([row for row, _fields in rows], sorted(set().union(*(f for _r, f in rows))))
    return found


def _references(received: list[datetime]) -> list[str]:
    """One reserved block of references per year, handed out in order."""
    years: dict[int, list[int]] = defaultdict(list)
    for n, received_at in enumerate(received):
        years[local_date(received_at).year].append(n)
    references = [""] * len(received)
    for positions in years.values():
        block = reserve_references(received[positions[0]], len(positions))
        for position, reference in zip(positions, block, strict=True):
            references[position] = reference
    return references


def _store_messages(items: Sequence[TicketToOpen | MailOnTicket]) -> None:
    attachments: list[Attachment] = []
    with database_files_together():  # the raw mails: one INSERT
        for item in items:
            kind = item.kind if isinstance(item, MailOnTicket) else MessageKind.MAIL
            stored, files = build_message(ticket=ticket_of(item), direction=Direction.INBOUND, kind=kind,
                                          message=item.message)
            item.stored = stored
            attachments.extend(files)
    insert_rows([item.stored for item in items if item.stored is not None])
    insert_rows(attachments)


def _acknowledge(new: list[TicketToOpen]) -> None:
    """``notify.queue_acknowledgement`` for each new ticket, with its per-sender limit."""
    if not new:
        return
    sent = Counter(notify.recent_acknowledgements([ticket_of(item).requester_id for item in new]))
    tickets: list[tuple[Ticket, tuple[str, list[str]]]] = []
    for item in new:
        ticket, first = ticket_of(item), item.stored
        assert first is not None
        if sent[ticket.requester_id] >= notify.ACK_LIMIT_PER_HOUR:
            logger.info("acknowledgement for %s suppressed: sender rate limit", ticket.reference)
            continue
        sent[ticket.requester_id] += 1
        # The ticket's only message so far is the requester's: that is the whole thread.
        thread = (first.message_id, [first.message_id] if first.message_id else [])
        if ticket.requester.name != item.name_when_filed:
            # A later item in this list gave the name; one at a time, this one was answered before.
            ticket = copy.copy(ticket)
            ticket.requester = copy.copy(ticket.requester)
            ticket.requester.name = item.name_when_filed
        tickets.append((ticket, thread))
    acks = notify.acknowledgements(tickets)
    insert_rows(acks)
    pks = [ack.pk for ack in acks]
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
        "data": {"channel": ticket.channel, "request_type": ticket.request_type, "due_at": ticket.due_at.isoformat()},
    }


def ticket_received_at(message: InboundMessage, channel: str) -> datetime:
    """When the clock starts: the mail's Date if plausible, else now."""
    received_at = message.sent_at if channel == Channel.EMAIL and message.sent_at else timezone.now()
    # Mail can carry any Date header; never let it put the deadline in the past or far future.
    now = timezone.now()
    if received_at > now or received_at < now - timedelta(days=7):
        received_at = now
    return received_at
