"""What becomes of one mail: the intake rules as ONE pure function, :func:`decide_mail`.

Both intake paths call it: ``ingest.ingest_message`` (one mail, its lookups read in its own
transaction) and ``batch.ingest_messages`` (many mails, the lookups read once per batch and
updated with the mails decided before this one). They differ only in how they write the decision.

The rules, in order:

1. mail that cannot be parsed is **quarantined** (the parser says why);
2. a mail whose dedupe key is already stored is a **duplicate** of it;
3. the ticket it continues: In-Reply-To, then References newest first, naming a stored message
   (ours or theirs, at most ``THREAD_IDS_MAX`` distinct ids looked up); else the first
   ``[PRIV-YYYY-NNNN]`` in the subject — on every path only a ticket the sender is a **party** to
   (its requester, or they mailed on it; internal notes do not count): a stranger quoting someone's
   reference or Message-ID must not get into their conversation;
4. **automatic mail** (RFC 3834 headers, bounces, lists, our own mail — never the subject alone)
   never opens a ticket; it is kept as a note on the ticket it answers (a bounce comes from a mailer
   daemon, never a party), else in the quarantine list as "ignored" (``ingest``), where staff can
   still open a ticket from it;
5. a mail continuing a ticket whose sender the receiving MTA did not authenticate (its
   ``Authentication-Results`` say DMARC/DKIM/SPF failed, or it has none: ``authresults.py``) is
   **quarantined** — a forged From: of the requester must not be filed as them;
6. a task contact's mail on a ticket (issue 26: a department, processor or provider the desk mailed
   a task; the party check of 3 counts them only for their own tasks) is that **task's answer**:
   the task whose mail it answers (thread ids), else the one its subject names
   (``[PRIV-2026-0001-T2]``), else the contact's open task on the ticket, else their latest; it is
   filed for staff only and never moves the ticket;
7. a requester's mail on a ticket is a **follow-up**, which **moves** the ticket (resume or reopen)
   when it is awaiting the requester or answered;
8. anything else is a **new ticket**, with a suggested request type and the requester's language,
   flagged for review (``review``) when its subject reads like an auto-reply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from helpdesk import services
from helpdesk.intake.email.authresults import FAILED
from helpdesk.intake.email.parser import ParsedEmail

__all__ = [
    "THREAD_IDS_MAX",
    "Decision",
    "Duplicate",
    "FollowUp",
    "IgnoreAuto",
    "Lookups",
    "NewTicket",
    "TaskAnswer",
    "TaskRef",
    "ToQuarantine",
    "decide_mail",
    "dedupe_key",
    "looked_up_ids",
    "thread_ids",
]

# At most this many distinct Message-IDs of one mail are looked up for threading.
THREAD_IDS_MAX = 200
# Message.dedupe_key is varchar(255); Message-IDs may be up to ~900 characters.
_DEDUPE_KEY_MAX = 255


class TicketLike(Protocol):
    """A stored ticket, or (in a batch) one opened by an earlier mail of the batch."""

    @property
    def state(self) -> str: ...


T = TypeVar("T", bound=TicketLike)


def _nobody(ticket: object) -> bool:
    return False


@dataclass(frozen=True)
class TaskRef:
    """A task (issue 26) of the ticket mailed to this mail's sender."""

    pk: int
    number: int
    mail_id: str  # the task mail's Message-ID
    is_open: bool


def _no_tasks(ticket: object) -> Sequence[TaskRef]:
    return ()


@dataclass(frozen=True)
class Lookups(Generic[T]):
    """What the database (and, in a batch, the mails decided before this one) says about a mail."""

    # Where a mail with the same dedupe key went: its ticket's reference, or (in a batch) its ticket.
    duplicate_of: str | T | None = None
    # Stored Message-IDs → the ticket of that message (may hold more ids than this mail names).
    by_message_id: Mapping[str, T] = field(default_factory=dict)
    # Tickets named by a ``[PRIV-…]`` reference in the subject → the ticket.
    by_reference: Mapping[str, T] = field(default_factory=dict)
    # Whether the sender is a party to a ticket of those two maps (its requester, or mailed on it).
    sender_is_party: Callable[[T], bool] = _nobody
    # The tasks of that ticket whose contact is the sender (not its requester), oldest first.
    sender_tasks: Callable[[T], Sequence[TaskRef]] = _no_tasks


@dataclass(frozen=True)
class ToQuarantine:
    reason: str
    detail: str


@dataclass(frozen=True)
class Duplicate(Generic[T]):
    of: str | T


@dataclass(frozen=True)
class IgnoreAuto(Generic[T]):
    reason: str
    keep_on: T | None  # the ticket it continues: kept there as an invisible note


@dataclass(frozen=True)
class FollowUp(Generic[T]):
    ticket: T
    moves: bool  # resumes a paused clock or reopens an answered ticket (a state transition)


@dataclass(frozen=True)
class NewTicket:
    request_type: str  # suggested from Korean/English keywords
    language: str  # a new requester's language
    review: str | None = None  # why a person should check it (e.g. "autoreply_subject")


@dataclass(frozen=True)
class TaskAnswer(Generic[T]):
    ticket: T
    task: int  # the Task's pk


Decision = ToQuarantine | Duplicate[T] | IgnoreAuto[T] | TaskAnswer[T] | FollowUp[T] | NewTicket


def decide_mail(parsed: ParsedEmail | ToQuarantine, lookups: Lookups[T]) -> Decision[T]:
    """The rules of the module docstring; reads nothing but its arguments."""
    if isinstance(parsed, ToQuarantine):
        return parsed
    if lookups.duplicate_of is not None:
        return Duplicate(lookups.duplicate_of)
    if parsed.auto_reason:
        return IgnoreAuto(parsed.auto_reason, _continued(parsed, lookups, thread_from_anyone=True))
    ticket = _continued(parsed, lookups)
    if ticket is not None and parsed.authentication in FAILED:
        return ToQuarantine("unauthenticated_reply",
                          f"a reply from {parsed.sender_email} to a ticket, but the receiving MTA's "
                          f"Authentication-Results say: {parsed.authentication} (DMARC/DKIM/SPF)")
    tasks = lookups.sender_tasks(ticket) if ticket is not None else ()
    if ticket is not None and tasks:
        return TaskAnswer(ticket, _answered_task(parsed, tasks))
    if ticket is not None:
        return FollowUp(ticket, moves=ticket.state in services.STATES_A_MAIL_MOVES)
    return NewTicket(parsed.suggested_request_type, parsed.language, parsed.review_reason)


def _continued(parsed: ParsedEmail, lookups: Lookups[T], *, thread_from_anyone: bool = False) -> T | None:
    """The first ticket the mail's thread ids, then its subject references, name — a party's only.

    ``thread_from_anyone``: automatic mail (a bounce from a mailer daemon) may answer our message
    by its id; it is kept as an invisible note and makes nobody a party.
    """
    ids = thread_ids(parsed)
    looked_up = set(looked_up_ids(ids))
    for message_id in ids:
        if message_id in looked_up and message_id in lookups.by_message_id:
            ticket = lookups.by_message_id[message_id]
            if thread_from_anyone or lookups.sender_is_party(ticket):
                return ticket
    for reference in parsed.ticket_references:
        if reference in lookups.by_reference and lookups.sender_is_party(lookups.by_reference[reference]):
            return lookups.by_reference[reference]
    return None


_TASK_TOKEN = re.compile(r"(?<![A-Za-z0-9])PRIV-\d{4}-\d{4,}-T(\d{1,5})(?!\d)", re.IGNORECASE)


def _answered_task(parsed: ParsedEmail, tasks: Sequence[TaskRef]) -> int:
    """Which of the sender's tasks the mail answers (rule 6)."""
    by_mail = {task.mail_id: task.pk for task in tasks if task.mail_id}
    for message_id in thread_ids(parsed):
        if message_id in by_mail:
            return by_mail[message_id]
    by_number = {task.number: task.pk for task in tasks}
    for match in _TASK_TOKEN.finditer(parsed.subject or ""):
        if int(match.group(1)) in by_number:
            return by_number[int(match.group(1))]
    open_tasks = [task for task in tasks if task.is_open]
    return (open_tasks or list(tasks))[-1].pk


def dedupe_key(parsed: ParsedEmail) -> str:
    key = parsed.dedupe_key
    if len(key) > _DEDUPE_KEY_MAX:
        # Keep the key deterministic and unique when a Message-ID is longer than the column.
        prefix = key.split(":", 1)[0]
        key = f"{prefix}:sha256:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"
    return key


def thread_ids(parsed: ParsedEmail) -> list[str]:
    """Message-IDs this mail answers, the most telling first: In-Reply-To, then References newest first."""
    return [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]


def looked_up_ids(ids: list[str]) -> list[str]:
    """The distinct ids of ``thread_ids`` that are looked up (a bound on hostile References)."""
    return list(dict.fromkeys(ids))[:THREAD_IDS_MAX]

