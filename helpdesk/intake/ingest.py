"""Filing one raw e-mail: parse, read the lookups, :func:`~helpdesk.intake.decide.decide_mail`, write.

One transaction per mail. The bulk path (``helpdesk.intake.batch``) hands this module the mail whose
writes it does not batch (quarantine, a state transition). The contract (ARCHITECTURE.md, "ingest
command"): the outcome is one of :class:`Outcome`; a database fault raises
:class:`TransientIngestError` with nothing half-written, so the caller can exit 75 or retry.

Exactly-once: ``Message.dedupe_key`` and ``Quarantine.dedupe_key`` are UNIQUE. Two ingesters racing
on the same message both try to insert; the loser's savepoint rolls back and it reports
``duplicate`` with the winner's ticket.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from helpdesk import services
from helpdesk.intake.decide import (
    Duplicate,
    FollowUp,
    IgnoreAuto,
    TaskAnswer,
    ToQuarantine,
    decide_mail,
    dedupe_key,
)
from helpdesk.intake.email.decoding import decode_header_value
from helpdesk.intake.email.many import ParseSettings, Unparsed, parse_or_reason
from helpdesk.intake.email.parser import EmailLimits, ParsedEmail
from helpdesk.intake.lookups import lookups, stored_reference
from helpdesk.intake.notes import bounced_message, flag_for_review, note_damaged_text, record_bounce
from helpdesk.models import Channel, MessageKind, QuarantineStatus, Ticket

logger = logging.getLogger(__name__)

__all__ = [
    "IngestResult",
    "Outcome",
    "TransientIngestError",
    "inbound_message",
    "ingest_message",
    "intake_config",
    "parse",
    "verdict",
]

# Deadlocks / serialization failures are worth retrying at once; other DB faults are not.
_RETRIES = 3


class Outcome(StrEnum):
    NEW_TICKET = "new_ticket"
    FOLLOW_UP = "follow_up"
    DUPLICATE = "duplicate"
    IGNORED_AUTO = "ignored_auto"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    ticket_reference: str | None = None
    reason: str | None = None

    def as_dict(self, source: str) -> dict[str, str | None]:
        """The JSON line of the ingest command contract."""
        return {"source": source, "outcome": str(self.outcome), "ticket": self.ticket_reference,
                "reason": self.reason}


class TransientIngestError(Exception):
    """The database was unreachable or failed: nothing was written, the message must be retried."""


def intake_config() -> ParseSettings:
    # Read per message (cheap attribute reads) so overridden settings in tests take effect.
    return ParseSettings(
        limits=EmailLimits(
            max_bytes=settings.DESK_MAIL_MAX_BYTES,
            max_parts=settings.DESK_MAIL_MAX_PARTS,
            max_attachment_bytes=settings.DESK_ATTACHMENT_MAX_BYTES,
            max_attachments=settings.DESK_ATTACHMENT_MAX_COUNT,
        ),
        own_addresses=tuple(a.strip().lower() for a in settings.DESK_OWN_ADDRESSES),
        own_domain=settings.DESK_MESSAGE_ID_DOMAIN,
        trusted_authserv_id=settings.DESK_TRUSTED_AUTHSERV_ID,
    )


def parse(raw: bytes, *, source: str = "") -> ParsedEmail | ToQuarantine:
    """The parsed mail, or the quarantine decision for mail that cannot be understood."""
    return verdict(parse_or_reason(raw, intake_config()), source)


def verdict(parsed: ParsedEmail | Unparsed, source: str) -> ParsedEmail | ToQuarantine:
    """What :func:`~helpdesk.intake.email.many.parse_or_reason` said, as intake decides on it."""
    if isinstance(parsed, ParsedEmail):
        return parsed
    if parsed.crash:
        logger.error("parser crashed on %s\n%s", source or "message", parsed.crash)
    return ToQuarantine(parsed.reason, parsed.detail)


def ingest_message(raw: bytes, *, source: str = "", parsed: ParsedEmail | ToQuarantine | None = None) -> IngestResult:
    """File one raw RFC 5322 message (``parsed``: what :func:`parse` made of it, if known).

    Never raises for bad mail (that is quarantined). Raises :class:`TransientIngestError` when
    the database fails; the transaction is rolled back, so a retry is safe.
    """
    mail = parse(raw, source=source) if parsed is None else parsed
    try:
        return _guarded(lambda: _file(mail, raw, source))
    except TransientIngestError:
        raise
    except Exception:  # a bug while filing: keep the mail for a person instead of crashing the run
        if isinstance(mail, ToQuarantine):
            raise
        logger.exception("filing %s failed; quarantining it", source or mail.dedupe_key)
        detail = traceback.format_exc(limit=8)
        return _guarded(lambda: _quarantine(raw, reason="ingest_error", detail=detail, source=source,
                                            sender=mail.sender_email, subject=mail.subject))


def _guarded(work: Any) -> IngestResult:
    """Run ``work`` (one transaction), retrying deadlocks; database faults become transient."""
    for attempt in range(_RETRIES):
        try:
            with services.atomic_removing_files():
                result: IngestResult = work()
            return result
        except (OperationalError, InterfaceError) as exc:
            if attempt + 1 < _RETRIES and _is_retryable(exc):
                logger.info("retrying after %s", exc)
                continue
            raise TransientIngestError(str(exc) or type(exc).__name__) from exc
        except IntegrityError:
            # A concurrent ingester won a race we did not foresee; running again re-reads.
            if attempt + 1 < _RETRIES:
                continue
            raise
        except DatabaseError as exc:
            if _is_retryable(exc) and attempt + 1 < _RETRIES:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _is_retryable(exc: Exception) -> bool:
    text = str(exc).lower()
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or ""
    return sqlstate in ("40001", "40P01") or "deadlock" in text or "database is locked" in text


# --- Filing ---------------------------------------------------------------------------------
def _file(parsed: ParsedEmail | ToQuarantine, raw: bytes, source: str) -> IngestResult:
    """Decide with what the database says now, and write it; runs inside _guarded's transaction."""
    decision = decide_mail(parsed, lookups(parsed))
    if isinstance(decision, ToQuarantine):
        detail = decision.detail
        if isinstance(parsed, ParsedEmail) and parsed.damaged_text:
            detail += "\n" + _damage_line(parsed)
        return _quarantine(raw, reason=decision.reason, detail=detail, source=source)
    if isinstance(decision, Duplicate):
        of = decision.of
        return IngestResult(Outcome.DUPLICATE, of if isinstance(of, str) else of.reference, None)
    assert isinstance(parsed, ParsedEmail)
    bounced = bounced_message(parsed.failed_delivery) if parsed.failed_delivery else None
    if isinstance(decision, IgnoreAuto) and bounced is not None:
        decision = IgnoreAuto(decision.reason, bounced.ticket)  # kept on the ticket whose mail bounced
    if isinstance(decision, IgnoreAuto):
        logger.info("automatic mail (%s) from %s set aside: %s", decision.reason, parsed.sender_email,
                    source or parsed.dedupe_key)
        if decision.keep_on is None:
            # Never thrown away: kept with its reason in the quarantine list's "ignored" view.
            return _quarantine(raw, reason=decision.reason, detail="", source=source, sender=parsed.sender_email,
                               subject=parsed.subject, status=QuarantineStatus.IGNORED)
    key = dedupe_key(parsed)
    message = inbound_message(parsed, raw, key)
    # The services are atomic themselves (a savepoint inside this transaction), so a lost race
    # rolls back only their work and leaves this transaction usable for the re-read below.
    try:
        with services.files_removed_on_error():  # a lost race leaves no files behind
            if isinstance(decision, IgnoreAuto):
                assert decision.keep_on is not None
                # Kept on the ticket for staff; never acknowledged, never reopens or resumes.
                services.add_inbound_message(ticket=decision.keep_on, message=message, kind=MessageKind.AUTO)
                if bounced is not None:
                    record_bounce(bounced, reason=decision.reason)
                return IngestResult(Outcome.IGNORED_AUTO, decision.keep_on.reference, decision.reason)
            if isinstance(decision, TaskAnswer):
                # A department's, processor's or provider's answer to its task (issue 26): staff only.
                services.record_task_answer(task_id=decision.task, message=message)
                return IngestResult(Outcome.FOLLOW_UP, decision.ticket.reference, None)
            if isinstance(decision, FollowUp):
                # Resumes or reopens the ticket when decision.moves (decided again under its row lock).
                services.add_inbound_message(ticket=decision.ticket, message=message)
                if parsed.damaged_text:
                    note_damaged_text(decision.ticket, parsed.damaged_text)
                return IngestResult(Outcome.FOLLOW_UP, decision.ticket.reference, None)
            created = services.create_ticket(
                message=message, channel=Channel.EMAIL, suggested_request_type=decision.request_type,
                language=decision.language,
            )
            if decision.review:
                flag_for_review(created, decision.review)
            if parsed.damaged_text:
                note_damaged_text(created, parsed.damaged_text)
            return IngestResult(Outcome.NEW_TICKET, created.reference, None)
    except IntegrityError:
        reference = stored_reference(key)
        if reference is None:
            raise
        return IngestResult(Outcome.DUPLICATE, reference, None)


def _damage_line(parsed: ParsedEmail) -> str:
    return "; ".join(f"text with {d.bad_bytes} byte(s) not valid in {d.codec} (shown as \\xNN), original "
                     f"kept as {d.kept_as or 'part of the raw mail'}" for d in parsed.damaged_text)


def _sent_at(parsed: ParsedEmail) -> datetime:
    now = timezone.now()
    # A Date header from the future would sort the conversation wrongly: trust it only up to a day.
    if parsed.date is None or parsed.date > now + timedelta(days=1):
        return now
    return parsed.date


def inbound_message(parsed: ParsedEmail, raw: bytes, key: str) -> services.InboundMessage:
    return services.InboundMessage(
        sender_email=parsed.sender_email,
        sender_name=parsed.sender_name,
        subject=parsed.display_subject or parsed.subject,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        sent_at=_sent_at(parsed),
        message_id=parsed.message_id or "",
        in_reply_to=parsed.in_reply_to or "",
        references=tuple(parsed.references),
        dedupe_key=key,
        raw_message=raw,
        attachments=tuple(
            services.NewAttachment(filename=a.filename, content_type=a.content_type, data=a.data,
                                   content_id=a.content_id or "", is_inline=a.is_inline)
            for a in parsed.attachments
        ),
        recipients=tuple(dict.fromkeys([*parsed.to, *parsed.cc])),
    )


# --- Quarantine -----------------------------------------------------------------------------
def _quarantine(raw: bytes, *, reason: str, detail: str, source: str, sender: str = "",
                subject: str = "", status: str = QuarantineStatus.PENDING) -> IngestResult:
    key = "sha256:" + hashlib.sha256(raw).hexdigest()
    if not (sender or subject):
        sender, subject = _peek_headers(raw)
    item, _created = services.quarantine_message(
        raw_message=raw, dedupe_key=key, reason=reason, detail=detail, source=source,
        sender=sender, subject=subject, status=status,
    )
    if item.ticket_id is not None:
        # Already reviewed and filed by a person: the same bytes again are a duplicate.
        reference = Ticket.objects.filter(pk=item.ticket_id).values_list("reference", flat=True).first()
        return IngestResult(Outcome.DUPLICATE, reference, None)
    if status == QuarantineStatus.IGNORED:
        return IngestResult(Outcome.IGNORED_AUTO, None, item.reason)
    return IngestResult(Outcome.QUARANTINED, None, item.reason)


def _peek_headers(raw: bytes) -> tuple[str, str]:
    """Best-effort From/Subject for the quarantine list; the message itself may be garbage."""
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
        sender = decode_header_value(str(headers.get("from", "")))
        subject = decode_header_value(str(headers.get("subject", "")))
        return " ".join(sender.split())[:320], " ".join(subject.split())[:500]
    except Exception:
        return "", ""
