"""Filing many e-mails in one transaction: the decisions of :func:`decide`, written in bulk.

``manage.py ingest_email`` with many files (a backlog, a migrated mailbox) would otherwise spend
~20 SQL statements per mail. Here the lookups are read once per batch (``lookups.BatchLookups``), each
mail is decided in order by the same :func:`~helpdesk.intake.decide.decide` as ``ingest_message``
uses, the lookups are updated with what it decided, and the rows are then written with the same
service builders in a few bulk INSERTs per batch.

A run of such mails is one transaction (a *segment*). It ends before the first mail whose write the
bulk path does not batch, which goes through ``ingest_message`` in its own transaction: a quarantine
entry, and a reply that resumes or reopens a ticket (a state transition). It also ends before a mail
naming a ``[PRIV-…]`` reference that is not stored yet once the segment opened a ticket (that
ticket's reference is given only when it is written). Then the next segment starts.

If a segment fails — a concurrent ingester took a message first, the database failed — it is rolled
back, the files it stored are removed, and the rest of the chunk is filed one at a time by
``ingest_message``. Outcomes and failure semantics (exit 75, nothing half-written) are therefore
always the one-message path's; the bulk path only makes them cheaper.

Locks are taken in one order — stored tickets (by id), new requesters (by address), the reference
counter, the administrators — which is also ``services.create_ticket``'s order, so concurrent
ingesters queue rather than deadlock.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from helpdesk import services
from helpdesk.intake.decide import Duplicate, FollowUp, IgnoreAuto, NewTicket, Quarantine, decide, dedupe_key
from helpdesk.intake.email.parser import ParsedEmail
from helpdesk.intake.ingest import IngestResult, Outcome, inbound_message, ingest_message, parse
from helpdesk.intake.lookups import BatchLookups
from helpdesk.models import (
    Attachment,
    AuditEvent,
    Channel,
    Direction,
    Message,
    MessageKind,
    Requester,
    Ticket,
    User,
)
from helpdesk.trust import audit
from notifications import services as notify
from workflows import sla
from workflows.calendar import LegalCalendar, local_date
from workflows.states import TicketState

logger = logging.getLogger(__name__)

__all__ = ["BATCH_MAX_BYTES", "BATCH_SIZE", "in_batches", "ingest_messages"]

# Mails per transaction: large enough to amortise the statements, small enough that a rollback
# (and the one-at-a-time retry after it) stays cheap and row locks are held briefly.
BATCH_SIZE = 250
# ... and at most this many bytes of mail held in memory at once.
BATCH_MAX_BYTES = 32 * 1024 * 1024


T = TypeVar("T", bound=tuple[Any, ...])


def in_batches(items: Iterable[T]) -> Iterator[list[T]]:
    """Group ``(raw bytes, …)`` items into batches of at most BATCH_SIZE items and ~BATCH_MAX_BYTES."""
    batch: list[T] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item[0])
        if len(batch) >= BATCH_SIZE or size > BATCH_MAX_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ingest_messages(items: Iterable[tuple[bytes, str]], parsed: Sequence[ParsedEmail | Quarantine] | None = None,
                    files: services.FileWriter | None = None) -> Iterator[IngestResult]:
    """File ``(raw, source)`` pairs in order; yields each outcome once it is committed.

    ``parsed``: what :func:`~helpdesk.intake.ingest.parse` made of each item, if known (e.g. from
    :func:`helpdesk.intake.ahead.parsed_ahead`); then ``items`` is one batch. ``files``: where the
    bulk path's transactions hand their new files (:func:`helpdesk.services.files_written_by`).

    Raises :class:`~helpdesk.intake.ingest.TransientIngestError` (after yielding what was
    committed) when the database fails, like ``ingest_message``.
    """
    if parsed is not None:
        chunks: Iterable[tuple[list[tuple[bytes, str]], Sequence[ParsedEmail | Quarantine] | None]] = [
            (list(items), parsed)]
    else:
        chunks = ((chunk, None) for chunk in in_batches(items))
    for chunk, known in chunks:
        if len(chunk) == 1:
            yield ingest_message(chunk[0][0], source=chunk[0][1], parsed=known[0] if known else None)
            continue
        mails = _parse(chunk, known)
        index = 0
        while index < len(mails):
            segment = _Segment(mails, index, files)
            if not segment.commit():
                for mail in mails[index:]:  # rolled back: one at a time, as ingest_message files them
                    yield ingest_message(mail.raw, source=mail.source, parsed=mail.parsed)
                break
            yield from segment.results
            index = segment.end
            if index < len(mails):  # this one needs the one-message path
                mail = mails[index]
                yield ingest_message(mail.raw, source=mail.source, parsed=mail.parsed)
                index += 1


def _parse(chunk: Sequence[tuple[bytes, str]], known: Sequence[ParsedEmail | Quarantine] | None) -> list[_Mail]:
    if known is None:
        known = [parse(raw, source=source) for raw, source in chunk]
    return [_Mail(raw=raw, source=source, parsed=parsed) for (raw, source), parsed in zip(chunk, known, strict=True)]


@dataclass
class _Mail:
    raw: bytes
    source: str
    parsed: ParsedEmail | Quarantine


@dataclass
class _NewTicket:
    mail: _Mail
    inbound: services.InboundMessage
    decision: NewTicket
    ticket: Ticket | None = None
    message: Message | None = None
    requester_name: str = ""  # the requester's name as it stood when this mail was filed

    @property
    def state(self) -> str:
        return TicketState.RECEIVED  # a ticket is opened in this state; a mail does not move it


@dataclass
class _FollowUp:
    inbound: services.InboundMessage
    kind: str
    target: Ticket | _NewTicket  # a stored ticket (row-locked) or one opened earlier in this batch
    message: Message | None = None

    def ticket(self) -> Ticket:
        return _ticket_of(self.target) if isinstance(self.target, _NewTicket) else self.target


def _ticket_of(item: _NewTicket | _FollowUp) -> Ticket:
    """The ticket a decided mail went to (a new ticket exists once the segment's tickets are built)."""
    if isinstance(item, _FollowUp):
        return item.ticket()
    assert item.ticket is not None
    return item.ticket


class _Segment:
    """Mails from ``start`` up to (not including) ``end``, the first the bulk path leaves alone."""

    def __init__(self, mails: list[_Mail], start: int, files: services.FileWriter | None = None) -> None:
        self.mails = mails
        self.files = files
        self.start = self.end = start
        self.pending: list[IngestResult | _Pending] = []
        self.results: list[IngestResult] = []

    def commit(self) -> bool:
        """Decide and write the segment in one transaction; False if it was rolled back."""
        if isinstance(self.mails[self.start].parsed, Quarantine):
            return True  # nothing for the bulk path: an empty segment
        outcome = None
        try:
            with services.atomic_removing_files() as outcome, services.files_written_by(self.files):
                self._decide_and_write()
        except Exception:
            if outcome is None or not outcome.committed:
                logger.warning("a batch of %d mails was rolled back; filing them one at a time",
                               len(self.mails) - self.start, exc_info=True)
                return False
            # Committed; only after-commit work (e.g. mailing) failed, and that has its own retries.
            logger.exception("after-commit work of a batch failed; its mails are filed")
        self.results = [result.resolve() if isinstance(result, _Pending) else result for result in self.pending]
        return True

    # --- Deciding ---------------------------------------------------------------------------
    def _decide_and_write(self) -> None:
        lookups = BatchLookups[_NewTicket](
            [mail.parsed for mail in self.mails[self.start:] if isinstance(mail.parsed, ParsedEmail)])
        work: list[_NewTicket | _FollowUp] = []
        self.pending = []
        for index in range(self.start, len(self.mails)):
            self.end = index
            mail = self.mails[index]
            if not lookups.complete_for(mail.parsed, opened=any(isinstance(item, _NewTicket) for item in work)):
                break
            decision = decide(mail.parsed, lookups.of(mail.parsed))
            if isinstance(decision, Quarantine) or (isinstance(decision, FollowUp) and decision.moves):
                break  # written by ingest_message: a quarantine entry, a state transition
            parsed = mail.parsed
            assert isinstance(parsed, ParsedEmail)
            if isinstance(decision, Duplicate):
                of = decision.of
                self.pending.append(IngestResult(Outcome.DUPLICATE, of, None) if isinstance(of, str) else
                                    IngestResult(Outcome.DUPLICATE, of.reference, None) if isinstance(of, Ticket)
                                    else _Pending(Outcome.DUPLICATE, of, None))
                continue
            if isinstance(decision, IgnoreAuto) and decision.keep_on is None:
                self.pending.append(IngestResult(Outcome.IGNORED_AUTO, None, decision.reason))
                continue
            key = dedupe_key(parsed)
            inbound = inbound_message(parsed, mail.raw, key)
            item: _NewTicket | _FollowUp
            if isinstance(decision, IgnoreAuto):
                assert decision.keep_on is not None
                item = _FollowUp(inbound, MessageKind.AUTO, decision.keep_on)
                outcome = _Pending(Outcome.IGNORED_AUTO, item, decision.reason)
            elif isinstance(decision, FollowUp):
                item = _FollowUp(inbound, MessageKind.MAIL, decision.ticket)
                outcome = _Pending(Outcome.FOLLOW_UP, item, None)
            else:
                item = _NewTicket(mail, inbound, decision)
                outcome = _Pending(Outcome.NEW_TICKET, item, None)
            self.pending.append(outcome)
            work.append(item)
            lookups.record(parsed, key, item if isinstance(item, _NewTicket) else item.target)
        else:
            self.end = len(self.mails)
        self._write(work)

    # --- Writing ----------------------------------------------------------------------------
    def _write(self, work: list[_NewTicket | _FollowUp]) -> None:
        if work:
            new = [item for item in work if isinstance(item, _NewTicket)]
            self._open_tickets(new, work)
            self._store_messages(work)
            self._acknowledge(new)
            self._audit(work)
            self._bump_versions(work)

    def _open_tickets(self, new: list[_NewTicket], work: list[_NewTicket | _FollowUp]) -> None:
        if not new:
            return
        # A requester's mail on a ticket advances its version (services._bump), even in the same batch.
        answered = Counter(id(item.target) for item in work
                           if isinstance(item, _FollowUp) and item.kind == MessageKind.MAIL)
        requesters = self._requesters(new)
        policies, calendar = sla.policy_table(), LegalCalendar.from_db()
        received = [services.ticket_received_at(item.inbound, Channel.EMAIL) for item in new]
        references = _references(received)
        assignees = services.deal_assignees(len(new))
        for item, received_at, reference, assignee in zip(new, received, references, assignees, strict=True):
            ticket = services.build_ticket(
                message=item.inbound, channel=Channel.EMAIL, requester=requesters[item.inbound.sender_email],
                received_at=received_at, reference=reference, suggested_request_type=item.decision.request_type,
                policies=policies, calendar=calendar,
            )
            ticket.assignee = assignee
            ticket.version += (assignee is not None) + answered[id(item)]  # auto_assign bumps it too
            item.ticket = ticket
        services.insert_rows([item.ticket for item in new if item.ticket is not None])
        for user in {assignee.pk: assignee for assignee in assignees if assignee is not None}.values():
            User.objects.filter(pk=user.pk).update(last_assigned_at=user.last_assigned_at)

    def _requesters(self, new: list[_NewTicket]) -> dict[str, Requester]:
        """``services.get_or_create_requester`` for every sender at once (address → requester)."""
        for item in new:
            item.inbound.sender_email = services.normalize_email(item.inbound.sender_email)
        found = {r.email: r for r in Requester.objects.filter(email__in={i.inbound.sender_email for i in new})}
        created: list[Requester] = []
        filled_in: dict[str, Requester] = {}
        for item in new:
            email, name = item.inbound.sender_email, item.inbound.sender_name
            requester = found.get(email)
            if requester is None:
                requester = Requester(email=email, name=name[:200], language=item.decision.language)
                found[email] = requester
                created.append(requester)
            elif services.fill_in_requester(requester, name=name) and requester.pk is not None:
                filled_in[email] = requester
            item.requester_name = requester.name
        if created:
            # In address order, so two ingesters adding the same new requesters queue, not deadlock.
            # One that added a requester first wins: this batch uses its row (filling in a name it
            # lacks) instead of being rolled back and refiled one mail at a time.
            services.insert_rows(sorted(created, key=lambda r: r.email), ignore_conflicts=True)
            stored = {r.email: r for r in Requester.objects.filter(email__in=[r.email for r in created])}
            for requester in created:
                row = found[requester.email] = stored[requester.email]
                if services.fill_in_requester(row, name=requester.name):
                    filled_in[row.email] = row
        if filled_in:
            Requester.objects.bulk_update([filled_in[email] for email in sorted(filled_in)], ["name"])
        return found

    def _store_messages(self, work: list[_NewTicket | _FollowUp]) -> None:
        attachments: list[Attachment] = []
        with services.database_files_together():  # the raw mails: one INSERT
            for item in work:
                ticket = _ticket_of(item)
                kind = item.kind if isinstance(item, _FollowUp) else MessageKind.MAIL
                message, files = services.build_message(ticket=ticket, direction=Direction.INBOUND, kind=kind,
                                                        message=item.inbound)
                item.message = message
                attachments.extend(files)
        services.insert_rows([item.message for item in work if item.message is not None])
        services.insert_rows(attachments)

    def _acknowledge(self, new: list[_NewTicket]) -> None:
        """``notify.queue_acknowledgement`` for each new ticket, with the same per-sender limit."""
        if not new:
            return
        sent = Counter(notify.recent_acknowledgements([item.ticket.requester_id for item in new if item.ticket]))
        tickets: list[tuple[Ticket, tuple[str, list[str]]]] = []
        for item in new:
            ticket, inbound = item.ticket, item.message
            assert ticket is not None and inbound is not None
            if sent[ticket.requester_id] >= notify.ACK_LIMIT_PER_HOUR:
                logger.info("acknowledgement for %s suppressed: sender rate limit", ticket.reference)
                continue
            sent[ticket.requester_id] += 1
            # The ticket's only message so far is the requester's: that is the whole thread.
            thread = (inbound.message_id, [inbound.message_id] if inbound.message_id else [])
            if ticket.requester.name != item.requester_name:
                # A later mail in this batch gave the name; one at a time, this one was answered before.
                ticket = copy.copy(ticket)
                ticket.requester = copy.copy(ticket.requester)
                ticket.requester.name = item.requester_name
            tickets.append((ticket, thread))
        acks = notify.acknowledgements(tickets)
        services.insert_rows(acks)
        pks = [ack.pk for ack in acks]
        if pks:
            transaction.on_commit(lambda: notify.enqueue_many(pks), robust=True)

    def _audit(self, work: list[_NewTicket | _FollowUp]) -> None:
        """The events the one-message path records, chained per ticket, in one INSERT."""
        stored = {item.target.pk for item in work if isinstance(item, _FollowUp) and isinstance(item.target, Ticket)}
        tips: dict[int, tuple[int, str]] = {}
        if stored:
            last_seq = AuditEvent.objects.filter(ticket_id=OuterRef("ticket_id")).order_by("-seq").values("seq")[:1]
            rows = AuditEvent.objects.filter(ticket_id__in=stored, seq=Subquery(last_seq))
            tips = {ticket_id: (seq, hash_) for ticket_id, seq, hash_ in rows.values_list("ticket_id", "seq", "hash")}
        events: list[AuditEvent] = []

        def append(ticket: Ticket, **fields: Any) -> None:
            event = audit.build_event(ticket=ticket, actor=None, after=tips.get(ticket.pk), **fields)
            tips[ticket.pk] = (event.seq, event.hash)
            events.append(event)

        for item in work:
            if isinstance(item, _NewTicket):
                ticket = item.ticket
                assert ticket is not None
                append(ticket, **services.created_event(ticket, None))
                if ticket.assignee is not None:
                    append(ticket, action="ticket.assigned",
                           data=services.assigned_event_data(None, ticket.assignee, "automatic"))
            else:
                assert item.message is not None
                append(item.ticket(), **services.received_event(item.message))
        services.insert_rows(events)
        audit.announce(events)

    def _bump_versions(self, work: list[_NewTicket | _FollowUp]) -> None:
        """A requester's mail on a stored ticket advances its optimistic-lock version (services._bump)."""
        bumps = Counter(item.target.pk for item in work if isinstance(item, _FollowUp)
                        and isinstance(item.target, Ticket) and item.kind == MessageKind.MAIL)
        by_count: dict[int, list[int]] = defaultdict(list)
        for pk, count in bumps.items():
            by_count[count].append(pk)
        now = timezone.now()
        for count, pks in by_count.items():
            Ticket.objects.filter(pk__in=pks).update(version=F("version") + count, updated_at=now)


@dataclass
class _Pending:
    """An outcome whose ticket reference is known once the batch's tickets are written."""

    outcome: Outcome
    item: _NewTicket | _FollowUp
    reason: str | None

    def resolve(self) -> IngestResult:
        return IngestResult(self.outcome, _ticket_of(self.item).reference, self.reason)


def _references(received: list[Any]) -> list[str]:
    """One reserved block of references per year, handed out in order."""
    years: dict[int, list[int]] = defaultdict(list)
    for n, received_at in enumerate(received):
        years[local_date(received_at).year].append(n)
    references = [""] * len(received)
    for positions in years.values():
        block = services.reserve_references(received[positions[0]], len(positions))
        for position, reference in zip(positions, block, strict=True):
            references[position] = reference
    return references

