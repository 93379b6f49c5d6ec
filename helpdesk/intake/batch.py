"""Filing many e-mails in one transaction: the decisions of :func:`decide_mail`, written as one list.

``manage.py ingest_email`` with many files (a backlog, a migrated mailbox) would otherwise spend
~20 SQL statements per mail. Here the lookups are read once per batch (``lookups.BatchLookups``), each
mail is decided in order by the same :func:`~helpdesk.intake.decide.decide_mail` as ``ingest_message``
uses, the lookups are updated with what it decided, and the new tickets and filed mails go to
:func:`helpdesk.services.opening.open_tickets` as one list — the service every new ticket goes
through (``create_ticket`` hands it a list of one). This module only segments and decides.

A run of such mails is one transaction (a *segment*). It ends before the first mail whose write the
list does not cover, which goes through ``ingest_message`` in its own transaction: a quarantine
entry, and a reply that resumes or reopens a ticket (a state transition). It also ends before a mail
naming a ``[PRIV-…]`` reference that is not stored yet once the segment opened a ticket (that
ticket's reference is given only when it is written). Then the next segment starts.

If a segment fails — a concurrent ingester took a message first, the database failed — it is rolled
back, the files it stored are removed, and the rest of the chunk is filed one at a time by
``ingest_message``. Outcomes and failure semantics (exit 75, nothing half-written) are therefore
always the one-message path's; the batch only makes them cheaper.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from helpdesk import services
from helpdesk.intake.decide import (
    Duplicate,
    FollowUp,
    IgnoreAuto,
    NewTicket,
    TaskAnswer,
    ToQuarantine,
    decide_mail,
    dedupe_key,
)
from helpdesk.intake.email.parser import ParsedEmail
from helpdesk.intake.ingest import IngestResult, Outcome, inbound_message, ingest_message, parse
from helpdesk.intake.lookups import BatchLookups
from helpdesk.models import Channel, MessageKind, Ticket
from helpdesk.services.opening import MailOnTicket, TicketToOpen, open_tickets, ticket_of

logger = logging.getLogger(__name__)

__all__ = ["BATCH_MAX_BYTES", "BATCH_SIZE", "in_batches", "ingest_messages"]

# Mails per transaction: large enough to amortise the statements, small enough that a rollback
# (and the one-at-a-time retry after it) stays cheap and row locks are held briefly.
BATCH_SIZE = 250
# ... and at most this many bytes of mail held in memory at once.
BATCH_MAX_BYTES = 32 * 1024 * 1024


T = TypeVar("T", bound=tuple[Any, ...])


def _filed_alone(decision: object, parsed: object) -> bool:
    """Mail ``ingest_message`` writes: a quarantine entry (automatic mail set aside too), a bounce of
    our mail, a state transition, a new ticket flagged for review or a mail with damaged text (a note), a
    task's answer."""
    return (isinstance(decision, ToQuarantine | TaskAnswer) or (isinstance(decision, FollowUp) and decision.moves)
            or (isinstance(decision, IgnoreAuto)
                and (decision.keep_on is None or getattr(parsed, "failed_delivery", None) is not None))
            or (isinstance(decision, NewTicket) and decision.review is not None)
            or (isinstance(decision, NewTicket | FollowUp) and bool(getattr(parsed, "damaged_text", None))))


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


def ingest_messages(items: Iterable[tuple[bytes, str]]) -> Iterator[IngestResult]:
    """File ``(raw, source)`` pairs in order; yields each outcome once it is committed.

    Raises :class:`~helpdesk.intake.ingest.TransientIngestError` (after yielding what was
    committed) when the database fails, like ``ingest_message``.
    """
    for chunk in in_batches(items):
        if len(chunk) == 1:
            yield ingest_message(chunk[0][0], source=chunk[0][1])
            continue
        mails = [_Mail(raw=raw, source=source, parsed=parse(raw, source=source)) for raw, source in chunk]
        index = 0
        while index < len(mails):
            segment = _Segment(mails, index)
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


@dataclass
class _Mail:
    raw: bytes
    source: str
    parsed: ParsedEmail | ToQuarantine


class _Segment:
    """Mails from ``start`` up to (not including) ``end``, the first the bulk path leaves alone."""

    def __init__(self, mails: list[_Mail], start: int) -> None:
        self.mails = mails
        self.start = self.end = start
        self.pending: list[IngestResult | _Pending] = []
        self.results: list[IngestResult] = []

    def commit(self) -> bool:
        """Decide and write the segment in one transaction; False if it was rolled back."""
        if isinstance(self.mails[self.start].parsed, ToQuarantine):
            return True  # nothing for the bulk path: an empty segment
        outcome = None
        try:
            with services.atomic_removing_files() as outcome:
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
        lookups = BatchLookups[TicketToOpen](
            [mail.parsed for mail in self.mails[self.start:] if isinstance(mail.parsed, ParsedEmail)])
        work: list[TicketToOpen | MailOnTicket] = []
        self.pending = []
        for index in range(self.start, len(self.mails)):
            self.end = index
            mail = self.mails[index]
            if not lookups.complete_for(mail.parsed, opened=any(isinstance(item, TicketToOpen) for item in work)):
                break
            decision = decide_mail(mail.parsed, lookups.of(mail.parsed))
            if _filed_alone(decision, mail.parsed):
                break  # written by ingest_message: a quarantine entry, a state transition
            parsed = mail.parsed
            assert isinstance(parsed, ParsedEmail)
            if isinstance(decision, Duplicate):
                of = decision.of
                self.pending.append(IngestResult(Outcome.DUPLICATE, of, None) if isinstance(of, str) else
                                    IngestResult(Outcome.DUPLICATE, of.reference, None) if isinstance(of, Ticket)
                                    else _Pending(Outcome.DUPLICATE, of, None))
                continue
            key = dedupe_key(parsed)
            inbound = inbound_message(parsed, mail.raw, key)
            item: TicketToOpen | MailOnTicket
            if isinstance(decision, IgnoreAuto):
                assert decision.keep_on is not None
                item = MailOnTicket(inbound, MessageKind.AUTO, decision.keep_on)
                outcome = _Pending(Outcome.IGNORED_AUTO, item, decision.reason)
            elif isinstance(decision, FollowUp):
                item = MailOnTicket(inbound, MessageKind.MAIL, decision.ticket)
                outcome = _Pending(Outcome.FOLLOW_UP, item, None)
            else:
                assert isinstance(decision, NewTicket)  # quarantine decisions are _filed_alone
                item = _ticket_to_open(inbound, decision)
                outcome = _Pending(Outcome.NEW_TICKET, item, None)
            self.pending.append(outcome)
            work.append(item)
            lookups.record(parsed, key, item if isinstance(item, TicketToOpen) else item.target)
        else:
            self.end = len(self.mails)
        open_tickets(work)


def _ticket_to_open(inbound: services.InboundMessage, decision: NewTicket) -> TicketToOpen:
    """What ``ingest_message`` hands ``create_ticket`` for a new ticket."""
    return TicketToOpen(message=inbound, channel=Channel.EMAIL, suggested_request_type=decision.request_type,
                        language=decision.language)


@dataclass
class _Pending:
    """An outcome whose ticket reference is known once the batch's tickets are written."""

    outcome: Outcome
    item: TicketToOpen | MailOnTicket
    reason: str | None

    def resolve(self) -> IngestResult:
        return IngestResult(self.outcome, ticket_of(self.item).reference, self.reason)
