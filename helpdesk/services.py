"""Every write to tickets and messages goes through here: e-mail, web form, API and admin alike.

Functions take keyword-only arguments and run in one transaction. Mail is queued with
``transaction.on_commit`` so nothing is sent for work that rolled back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed

from helpdesk import audit
from helpdesk.models import (
    Attachment,
    AuditEvent,
    Channel,
    Direction,
    Message,
    MessageKind,
    Quarantine,
    QuarantineStatus,
    Requester,
    Ticket,
    TicketCounter,
    User,
)
from helpdesk.roles import ADMINISTRATOR_GROUP, can_act_on_ticket, is_administrator, is_desk_staff, is_manager
from workflows import sla
from workflows.calendar import LegalCalendar, local_date
from workflows.request_types import Jurisdiction, RequestType
from workflows.states import OPEN_STATES, RejectionReason, TicketState, VerificationMethod

logger = logging.getLogger(__name__)


# --- Errors the UI and API turn into 409 / 403 / 400 -------------------------------------------
class ServiceError(Exception):
    """Base for the desk's expected failures; ``message`` is safe to show to the user."""


class ConflictError(ServiceError):
    """Someone else changed the ticket since it was loaded (optimistic lock)."""


class TransitionNotAllowedError(ServiceError):
    """The transition does not exist or cannot run from the ticket's current state."""


class PermissionDeniedError(ServiceError):
    """The actor may not do this to this ticket."""


class GuardError(ServiceError):
    """The transition needs data it was not given; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- Inputs ------------------------------------------------------------------------------------
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


# --- Stored files of rolled-back work ---------------------------------------------------------
_written_files: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("written_files", default=None)


@contextmanager
def files_removed_on_error(keep: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Files the services store inside this block are deleted again if the block raises
    (unless ``keep()`` says the rows naming them were committed after all).

    Wrap a whole transaction in it: files go to storage before the rows naming them are inserted,
    so a rollback would otherwise leave them behind. Nested blocks hand their files outwards.
    """
    written: list[tuple[Storage, str]] = []
    token = _written_files.set(written)
    try:
        yield
    except BaseException:
        if not keep():
            for storage, name in written:
                try:
                    storage.delete(name)
                except OSError:  # pragma: no cover - best effort
                    logger.warning("could not remove %s after a rollback", name)
        raise
    finally:
        _written_files.reset(token)
    outer = _written_files.get()
    if outer is not None:
        outer.extend(written)


@dataclass
class TransactionOutcome:
    committed: bool = False


@contextmanager
def atomic_removing_files() -> Iterator[TransactionOutcome]:
    """``transaction.atomic()`` that deletes the files stored inside it if it rolls back.

    Never once it has committed: an after-commit hook that fails (or a Ctrl-C while it mails)
    must not take the files of committed rows with it. The yielded outcome says which it was.
    """
    outcome = TransactionOutcome()
    with files_removed_on_error(keep=lambda: outcome.committed), transaction.atomic():
        # Registered first, so it runs before any other after-commit work of this transaction.
        transaction.on_commit(lambda: setattr(outcome, "committed", True))
        yield outcome


def _remember(field_file: Any) -> None:
    written = _written_files.get()
    if written is not None and field_file.name:
        written.append((field_file.storage, field_file.name))


# --- Requesters --------------------------------------------------------------------------------
def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_or_create_requester(
    *, email: str, name: str = "", phone: str = "", organization: str = "", language: str | None = None
) -> Requester:
    """Find the requester by address; fill in details they did not give before."""
    requester, created = Requester.objects.get_or_create(
        email=normalize_email(email),
        defaults={"name": name[:200], "phone": phone[:50], "organization": organization[:200],
                  "language": language or "ko"},
    )
    if not created:
        changed = fill_in_requester(requester, name=name, phone=phone, organization=organization)
        if changed:
            requester.save(update_fields=changed)
    return requester


def fill_in_requester(requester: Requester, *, name: str = "", phone: str = "", organization: str = "") -> list[str]:
    """Details the requester gives now but did not give before; returns the changed fields."""
    changed = []
    for attr, value in (("name", name), ("phone", phone), ("organization", organization)):
        if value and not getattr(requester, attr):
            setattr(requester, attr, value[:200])
            changed.append(attr)
    return changed


# --- References --------------------------------------------------------------------------------
def next_reference(received_at: datetime) -> str:
    """``PRIV-2026-0001``: per-year counter on a locked row, unique under concurrency."""
    return reserve_references(received_at, 1)[0]


def reserve_references(received_at: datetime, count: int) -> list[str]:
    """``count`` consecutive references for the year of ``received_at``, in one statement."""
    year = local_date(received_at).year
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    # One statement in the common case; the UPDATE's row lock serialises concurrent creators.
    sql = f"UPDATE {table} SET last_number = last_number + %s WHERE year = %s RETURNING last_number"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, year])
        row = cursor.fetchone()
        if row is None:  # first ticket of the year
            TicketCounter.objects.bulk_create([TicketCounter(year=year, last_number=0)], ignore_conflicts=True)
            cursor.execute(sql, [count, year])
            row = cursor.fetchone()
    last = row[0]
    return [f"PRIV-{year}-{number:04d}" for number in range(last - count + 1, last + 1)]


# --- Tickets -----------------------------------------------------------------------------------
@transaction.atomic
def create_ticket(
    *,
    message: InboundMessage,
    channel: str,
    request_type: str | None = None,
    suggested_request_type: str = "",
    jurisdiction: str = Jurisdiction.KR,
    requester_name: str = "",
    phone: str = "",
    organization: str = "",
    language: str | None = None,
    actor: User | None = None,
    acknowledge: bool = True,
) -> Ticket:
    """Open a ticket with its first message, assign it, start its clock, acknowledge it.

    ``helpdesk.intake.batch`` does the same for many mails at once, with the same helpers.
    """
    received_at = ticket_received_at(message, channel)
    requester = get_or_create_requester(
        email=message.sender_email,
        name=requester_name or message.sender_name,
        phone=phone,
        organization=organization,
        language=language,
    )
    ticket = build_ticket(
        message=message, channel=channel, requester=requester, received_at=received_at,
        reference=next_reference(received_at), request_type=request_type,
        suggested_request_type=suggested_request_type, jurisdiction=jurisdiction,
    )
    ticket.save()
    audit.record_event(ticket=ticket, actor=actor, **created_event(ticket, actor))
    _store_message(ticket=ticket, direction=Direction.INBOUND, kind=MessageKind.MAIL, message=message)
    if acknowledge:
        from notifications import services as notify

        notify.queue_acknowledgement(ticket=ticket)
    # Last, so the administrators' rows stay locked (for fair dealing) only until the commit.
    auto_assign(ticket=ticket)
    return ticket


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
    """The ``ticket.created`` audit event's fields (for audit.record_event / audit.build_event)."""
    return {
        "actor_name": f"requester <{ticket.requester.email}>" if actor is None else None,
        "action": "ticket.created",
        "to_state": ticket.state,
        "data": {"channel": ticket.channel, "request_type": ticket.request_type, "due_at": ticket.due_at.isoformat()},
    }


def assigned_event_data(previous: User | None, assignee: User | None, how: str) -> dict[str, Any]:
    return {"from": previous.username if previous else None, "to": assignee.username if assignee else None,
            "how": how}


def ticket_received_at(message: InboundMessage, channel: str) -> datetime:
    """When the clock starts: the mail's Date if plausible, else now."""
    received_at = message.sent_at if channel == Channel.EMAIL and message.sent_at else timezone.now()
    # Mail can carry any Date header; never let it put the deadline in the past or far future.
    now = timezone.now()
    if received_at > now or received_at < now - timedelta(days=7):
        received_at = now
    return received_at


def _store_message(
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
        stored.raw_message.save("raw.eml", ContentFile(message.raw_message), save=False)
        _remember(stored.raw_message)
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
        attachment.file.save("upload", ContentFile(item.data), save=False)
        _remember(attachment.file)
        attachments.append(attachment)
    return stored, attachments


# A requester's mail moves a ticket in these states (resume, reopen); in others it is just filed.
STATES_A_MAIL_MOVES = (TicketState.AWAITING_REQUESTER, TicketState.RESPONDED, TicketState.REJECTED)


def received_event(stored: Message) -> dict[str, Any]:
    """The audit event's fields for a requester's message filed on an existing ticket."""
    return {"actor_name": f"requester <{stored.sender}>",
            "action": "message.received" if stored.kind == MessageKind.MAIL else "message.auto_received",
            "data": {"message": stored.pk}}


@transaction.atomic
def add_inbound_message(*, ticket: Ticket, message: InboundMessage, kind: str = MessageKind.MAIL) -> Message:
    """A requester wrote again: file it, resume a paused clock, reopen an answered ticket."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    stored = _store_message(ticket=locked, direction=Direction.INBOUND, kind=kind, message=message)
    audit.record_event(ticket=locked, actor=None, **received_event(stored))
    if kind == MessageKind.MAIL:
        if locked.state == TicketState.AWAITING_REQUESTER:
            _run_transition(locked, "resume", actor=None, as_requester=True, data={})
        elif locked.state in (TicketState.RESPONDED, TicketState.REJECTED):
            _run_transition(locked, "reopen", actor=None, as_requester=True,
                            data={"reason": "requester wrote again"})
        else:
            _bump(locked)
    ticket.refresh_from_db()
    return stored


@transaction.atomic
def add_note(*, ticket: Ticket, author: User, body_text: str) -> Message:
    """An internal note: visible to staff only, never mailed."""
    if not body_text.strip():
        raise GuardError({"body_text": _("A note cannot be empty.")})
    locked = _lock_for_staff(ticket, author, expected_version=None)
    note = _store_message(
        ticket=locked, direction=Direction.NOTE, kind=MessageKind.NOTE, author=author,
        message=InboundMessage(sender_email=author.email or author.username, sender_name=str(author),
                               body_text=body_text),
    )
    audit.record_event(ticket=locked, actor=author, action="note.added", data={"message": note.pk})
    _bump(locked)
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
    locked = _lock_for_staff(ticket, author, expected_version)
    from notifications import services as notify

    reply = notify.queue_outbound_message(ticket=locked, body_text=body_text, kind=kind, author=author)
    audit.record_event(ticket=locked, actor=author, action="reply.sent", data={"message": reply.pk})
    if locked.first_response_at is None:
        locked.first_response_at = reply.sent_at
    if and_respond:
        _run_transition(locked, "respond", actor=author, as_requester=False, data={})
    else:
        _bump(locked)
    ticket.refresh_from_db()
    return reply


# --- Transitions -------------------------------------------------------------------------------
TRANSITIONS = ("verify", "request_info", "resume", "process", "respond", "reject", "withdraw", "reopen")


def _required(data: dict[str, Any], name: str, message: str, errors: dict[str, str]) -> None:
    if not str(data.get(name) or "").strip():
        errors[name] = message


def validate_transition_data(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """What each transition needs; raises GuardError with field errors, returns clean kwargs."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if name == "verify":
        method = data.get("verification_method") or ""
        if method not in VerificationMethod.values:
            errors["verification_method"] = _("Say how the requester's identity was verified.")
        clean = {"verification_method": method, "note": str(data.get("note") or "")}
        if method == VerificationMethod.OTHER:
            _required(data, "note", _("Describe how identity was verified."), errors)
    elif name == "request_info":
        _required(data, "question", _("Write what the requester must send."), errors)
        clean = {"question": str(data.get("question") or "")}
    elif name == "process":
        _required(data, "note", _("Record what was done to carry out the request."), errors)
        clean = {"note": str(data.get("note") or "")}
    elif name == "reject":
        if data.get("reason") not in RejectionReason.values:
            errors["reason"] = _("Choose the legal reason for the refusal.")
        _required(data, "explanation", _("Explain the refusal to the requester."), errors)
        clean = {"reason": data.get("reason") or "", "explanation": str(data.get("explanation") or "")}
    elif name in ("withdraw", "reopen"):
        clean = {"reason": str(data.get("reason") or "")}
    if errors:
        raise GuardError(errors)
    return clean


@transaction.atomic
def transition_ticket(
    *,
    ticket: Ticket,
    name: str,
    actor: User | None,
    expected_version: int | None = None,
    as_requester: bool = False,
    **data: Any,
) -> Ticket:
    """Run one state-machine transition with its permission, guard, side effects and audit."""
    if name not in TRANSITIONS:
        raise TransitionNotAllowedError(_("Unknown transition '%(name)s'.") % {"name": name})
    if as_requester:
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        _check_version(locked, expected_version)
    else:
        if actor is None:
            raise PermissionDeniedError(_("Sign in to act on tickets."))
        locked = _lock_for_staff(ticket, actor, expected_version)
    _run_transition(locked, name, actor=actor, as_requester=as_requester, data=data)
    ticket.refresh_from_db()
    return locked


def _run_transition(ticket: Ticket, name: str, *, actor: User | None, as_requester: bool,
                    data: dict[str, Any]) -> None:
    method = getattr(ticket, name)
    meta = method._django_fsm
    fsm_transition = meta.get_transition(ticket.state)
    if fsm_transition is None:
        raise TransitionNotAllowedError(
            _("'%(name)s' is not possible while the ticket is %(state)s.")
            % {"name": name, "state": ticket.get_state_display()}
        )
    if as_requester:
        if not fsm_transition.custom.get("requester"):
            raise PermissionDeniedError(_("A requester cannot '%(name)s'.") % {"name": name})
    elif not meta.has_transition_perm(ticket, ticket.state, actor):  # permission only; guards below
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    clean = validate_transition_data(name, data)
    if name == "verify":  # issue 5: an under-14 requester's guardian must confirm first
        from helpdesk.public.services import guardian_gate

        if (why := guardian_gate(ticket)) is not None:
            raise GuardError({"guardian": why})
    if not can_proceed(method):
        raise GuardError(_guard_message(name))
    from_state = ticket.state
    try:
        method(**clean)
    except TransitionNotAllowed as exc:  # pragma: no cover - checked above, kept for safety
        raise TransitionNotAllowedError(str(exc)) from exc
    _transition_side_effects(ticket, name, actor, clean, from_state)
    _bump(ticket)
    audit.record_event(
        ticket=ticket, actor=actor,
        actor_name=f"requester <{ticket.requester.email}>" if as_requester and actor is None else None,
        action=f"transition.{name}", from_state=from_state, to_state=ticket.state, data=clean,
    )


def _guard_message(name: str) -> dict[str, str]:
    if name == "respond":
        return {"reply": _("Send the answer to the requester before marking the ticket responded.")}
    return {"__all__": _("'%(name)s' cannot run yet.") % {"name": name}}


def _transition_side_effects(ticket: Ticket, name: str, actor: User | None, data: dict[str, Any],
                             from_state: str) -> None:
    from notifications import services as notify

    now = timezone.now()
    if name == "request_info":
        ticket.paused_at = now
        notify.queue_outbound_message(ticket=ticket, body_text=data["question"], kind=MessageKind.REPLY,
                                      author=actor)
        if ticket.first_response_at is None:
            ticket.first_response_at = now
    elif name == "resume" and ticket.paused_at is not None:
        sla.resume_clock(ticket, now)
    elif name == "reject":
        if ticket.paused_at is not None:
            sla.resume_clock(ticket, now)
        notify.queue_rejection_notice(ticket=ticket, reason=data["reason"], explanation=data["explanation"],
                                      author=actor)
    elif name == "withdraw":
        ticket.paused_at = None
        notify.queue_withdrawal_notice(ticket=ticket)


# --- Assignment --------------------------------------------------------------------------------
def assignable_administrators() -> Any:
    return User.objects.filter(is_active=True, is_away=False, groups__name=ADMINISTRATOR_GROUP)


def pick_assignee() -> User | None:
    """The active administrator with the fewest open tickets; ties go to whoever waited longest.

    Candidate rows are locked, so two tickets created at once are dealt out fairly.
    """
    return deal_assignees(1)[0]


def deal_assignees(count: int) -> list[User | None]:
    """Assignees for ``count`` new tickets, as ``count`` calls of :func:`pick_assignee` would deal them."""
    candidates = list(
        assignable_administrators().select_for_update().order_by("pk").values_list("pk", flat=True)
    )
    if not candidates:
        return [None] * count
    users = list(
        User.objects.filter(pk__in=candidates)
        .annotate(open_count=Count("assigned_tickets", filter=Q(assigned_tickets__state__in=OPEN_STATES)))
    )
    now = timezone.now()
    dealt: list[User | None] = []
    for n in range(count):
        # Fewest open tickets, then never assigned, then assigned longest ago, then the oldest account.
        user = min(users, key=lambda u: (u.open_count, u.last_assigned_at is not None, u.last_assigned_at or now,
                                         u.pk))
        dealt.append(user)
        user.open_count += 1
        user.last_assigned_at = now + timedelta(microseconds=n)
    return dealt


def auto_assign(*, ticket: Ticket) -> User | None:
    assignee = pick_assignee()
    if assignee is not None:
        _set_assignee(ticket, assignee, actor=None, how="automatic")
    return assignee


@transaction.atomic
def assign_ticket(*, ticket: Ticket, assignee: User | None, actor: User,
                  expected_version: int | None = None) -> Ticket:
    """Take a ticket (an administrator, for themselves) or reassign it (a manager)."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _check_version(locked, expected_version)
    taking = assignee is not None and assignee.pk == actor.pk and is_administrator(actor) and (
        locked.assignee_id in (None, actor.pk)
    )
    if not (is_manager(actor) or taking):
        raise PermissionDeniedError(_("Only a manager can reassign a ticket."))
    if assignee is not None and not is_desk_staff(assignee):
        raise GuardError({"assignee": _("Tickets can only be assigned to desk staff.")})
    _set_assignee(locked, assignee, actor=actor, how="take" if taking else "manual")
    ticket.refresh_from_db()
    return locked


def _set_assignee(ticket: Ticket, assignee: User | None, *, actor: User | None, how: str) -> None:
    previous = ticket.assignee
    ticket.assignee = assignee
    _bump(ticket)
    if assignee is not None:
        User.objects.filter(pk=assignee.pk).update(last_assigned_at=timezone.now())
    audit.record_event(ticket=ticket, actor=actor, action="ticket.assigned",
                       data=assigned_event_data(previous, assignee, how))


@transaction.atomic
def set_away(*, user: User, away: bool, actor: User) -> None:
    if actor.pk != user.pk and not is_manager(actor):
        raise PermissionDeniedError(_("Only managers can change someone else's availability."))
    User.objects.filter(pk=user.pk).update(is_away=away)
    user.is_away = away
    audit.record_event(ticket=None, actor=actor, action="staff.away" if away else "staff.back",
                       data={"user": user.username})


@transaction.atomic
def reclassify(*, ticket: Ticket, request_type: str, actor: User, expected_version: int | None = None) -> Ticket:
    """Change the request type; the deadline is recomputed from the original receipt."""
    if request_type not in RequestType.values:
        raise GuardError({"request_type": _("Unknown request type.")})
    locked = _lock_for_staff(ticket, actor, expected_version)
    old_type, old_due = locked.request_type, locked.due_at
    locked.request_type = request_type
    sla.recompute_due_at(locked)
    _bump(locked)
    audit.record_event(
        ticket=locked, actor=actor, action="ticket.reclassified",
        data={"from": old_type, "to": request_type, "due_before": old_due.isoformat(),
              "due_after": locked.due_at.isoformat()},
    )
    ticket.refresh_from_db()
    return locked


# --- Quarantine (mail intake; issue 3) -----------------------------------------------------------
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
) -> tuple[Any, bool]:
    """Keep mail intake could not file — raw bytes unchanged — for a person to review.

    Stored once per ``dedupe_key`` (sha256 of the bytes): returns ``(item, created)``; a
    concurrent ingester inserting the same key loses the race quietly and gets the winner's row.
    """
    from django.db import IntegrityError


    existing = Quarantine.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    item = Quarantine(
        reason=reason[:64], detail=detail, source=source[:500], size=len(raw_message), sender=sender[:320],
        subject=subject[:500], dedupe_key=dedupe_key, received_at=timezone.now(),
    )
    item.raw_message.save("raw.eml", ContentFile(raw_message), save=False)
    _remember(item.raw_message)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        item.raw_message.delete(save=False)
        return Quarantine.objects.get(dedupe_key=dedupe_key), False
    audit.record_event(ticket=None, actor=None, actor_name="mail intake", action="mail.quarantined",
                       data={"quarantine": item.pk, "reason": item.reason, "source": item.source})
    return item, True


# --- The desk: view log and quarantine review (issue 6) ---------------------------------------
VIEW_LOG_MINUTES = 10


@transaction.atomic
def record_ticket_access(*, ticket: Ticket, actor: User, action: str, data: dict[str, Any] | None = None) -> None:
    """Log staff access to a ticket's personal data (a download, a view) in its audit chain."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)  # keeps the audit chain linear
    audit.record_event(ticket=locked, actor=actor, action=action, data=data)


def record_ticket_view(*, ticket: Ticket, actor: User) -> bool:
    """Log that staff opened a ticket, at most once per user and ticket per 10 minutes."""
    since = timezone.now() - timedelta(minutes=VIEW_LOG_MINUTES)

    if AuditEvent.objects.filter(ticket=ticket, action="ticket.viewed", actor_id=actor.pk, at__gte=since).exists():
        return False
    record_ticket_access(ticket=ticket, actor=actor, action="ticket.viewed")
    return True


def _review_quarantine(quarantine_pk: int, actor: User) -> Any:

    if not is_desk_staff(actor):
        raise PermissionDeniedError(_("Only desk staff can review quarantined mail."))
    item = Quarantine.objects.select_for_update().get(pk=quarantine_pk)
    if item.status != QuarantineStatus.PENDING:
        raise ConflictError(_("Someone else already reviewed this message."))
    return item


def _quarantine_inbound(item: Any, *, sender_email: str = "", sender_name: str = "") -> InboundMessage:
    """Best effort: the intake parser if it copes, else the raw bytes decoded as text."""
    with item.raw_message.open("rb") as handle:
        raw = handle.read()
    parsed = None
    try:
        from helpdesk.intake.email.parser import parse_email

        parsed = parse_email(raw)
    except Exception:  # quarantined precisely because parsing failed; fall back to plain text
        parsed = None
    email_address = sender_email or (parsed.sender_email if parsed else "") or item.sender
    if not email_address or "@" not in email_address:
        raise GuardError({"sender_email": _("Give the requester's e-mail address.")})
    return InboundMessage(
        sender_email=email_address,
        sender_name=sender_name or (parsed.sender_name if parsed else ""),
        subject=(parsed.display_subject or parsed.subject) if parsed else item.subject,
        # PostgreSQL text cannot hold NUL bytes, and garbage mail often has them.
        body_text=parsed.body_text if parsed else raw[:200_000].decode("utf-8", errors="replace").replace(
            "\x00", "\ufffd"),
        body_html=parsed.body_html if parsed else "",
        message_id=(parsed.message_id or "") if parsed else "",
        in_reply_to=(parsed.in_reply_to or "") if parsed else "",
        references=tuple(parsed.references) if parsed else (),
        sent_at=item.received_at,
        dedupe_key=item.dedupe_key,  # the same bytes arriving again are then a duplicate
        raw_message=raw,
    )


@transaction.atomic
def convert_quarantine_to_ticket(*, quarantine_pk: int, actor: User, request_type: str,
                                 sender_email: str = "", sender_name: str = "") -> Ticket:
    """A person decided the quarantined mail is a real request: open a ticket with it."""

    item = _review_quarantine(quarantine_pk, actor)
    if request_type not in RequestType.values:
        raise GuardError({"request_type": _("Unknown request type.")})
    message = _quarantine_inbound(item, sender_email=sender_email, sender_name=sender_name)
    ticket = create_ticket(message=message, channel=Channel.EMAIL, request_type=request_type, actor=actor)
    item.status, item.ticket, item.resolved_by, item.resolved_at = (
        QuarantineStatus.CONVERTED, ticket, actor, timezone.now())
    item.save(update_fields=["status", "ticket", "resolved_by", "resolved_at"])
    audit.record_event(ticket=None, actor=actor, action="quarantine.converted",
                       data={"quarantine": item.pk, "ticket": ticket.reference})
    return ticket


@transaction.atomic
def attach_quarantine_to_ticket(*, quarantine_pk: int, actor: User, ticket: Ticket) -> Message:
    """File the quarantined mail on an existing ticket, as if the requester had written again."""

    item = _review_quarantine(quarantine_pk, actor)
    if not can_act_on_ticket(actor, ticket):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    message = add_inbound_message(ticket=ticket, message=_quarantine_inbound(item))
    item.status, item.ticket, item.resolved_by, item.resolved_at = (
        QuarantineStatus.ATTACHED, ticket, actor, timezone.now())
    item.save(update_fields=["status", "ticket", "resolved_by", "resolved_at"])
    audit.record_event(ticket=None, actor=actor, action="quarantine.attached",
                       data={"quarantine": item.pk, "ticket": ticket.reference})
    return message


@transaction.atomic
def discard_quarantine(*, quarantine_pk: int, actor: User, reason: str = "") -> None:
    """Not a request (spam, garbage): marked discarded, raw bytes kept for the retention period."""

    item = _review_quarantine(quarantine_pk, actor)
    item.status, item.resolved_by, item.resolved_at = QuarantineStatus.DISCARDED, actor, timezone.now()
    item.save(update_fields=["status", "resolved_by", "resolved_at"])
    audit.record_event(ticket=None, actor=actor, action="quarantine.discarded",
                       data={"quarantine": item.pk, "reason": reason[:500]})


# --- Locking helpers ---------------------------------------------------------------------------
def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(_(
            "Someone else changed this ticket while you were working on it. "
            "Reload it to see their change, then try again."
        ))


def _lock_for_staff(ticket: Ticket, actor: User, expected_version: int | None) -> Ticket:
    locked = Ticket.objects.select_for_update().select_related("requester").get(pk=ticket.pk)
    _check_version(locked, expected_version)
    if not can_act_on_ticket(actor, locked):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    return locked


def _bump(ticket: Ticket) -> None:
    """Save the ticket with its optimistic-lock version advanced.

    Every caller holds the ticket's row lock (or has just created it), so the in-memory version
    is current and a plain increment is exact; no re-read needed.
    """
    ticket.version += 1
    ticket.save()
