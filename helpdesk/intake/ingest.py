"""Filing one raw e-mail: parse → quarantine → dedupe → noise → thread → ticket, in one transaction.

Every source (the ``ingest_email`` pipe, IMAP polling, maildir) calls :func:`ingest_message`, so a
message is filed the same way whichever way it arrived. The contract (ARCHITECTURE.md, "ingest
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
import re
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from helpdesk import services
from helpdesk.intake.email.classify import suggest_request_type
from helpdesk.intake.email.parser import EmailLimits, ParsedEmail, QuarantineError, parse_email
from helpdesk.models import Channel, Message, MessageKind, Ticket

logger = logging.getLogger(__name__)

__all__ = ["IngestResult", "Outcome", "TransientIngestError", "ingest_message"]

# Message.dedupe_key is varchar(255); Message-IDs may be up to ~900 characters.
_DEDUPE_KEY_MAX = 255
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
# Deadlocks / serialization failures are worth retrying at once; other DB faults are not.
_RETRIES = 3
# At most this many distinct Message-IDs of one mail are looked up for threading.
THREAD_IDS_MAX = 200


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


@dataclass(frozen=True)
class _Config:
    limits: EmailLimits
    own_addresses: tuple[str, ...]
    own_domain: str


def intake_config() -> _Config:
    # Read per message (cheap attribute reads) so overridden settings in tests take effect.
    return _Config(
        limits=EmailLimits(
            max_bytes=settings.DESK_MAIL_MAX_BYTES,
            max_parts=settings.DESK_MAIL_MAX_PARTS,
            max_attachment_bytes=settings.DESK_ATTACHMENT_MAX_BYTES,
            max_attachments=settings.DESK_ATTACHMENT_MAX_COUNT,
        ),
        own_addresses=tuple(a.strip().lower() for a in settings.DESK_OWN_ADDRESSES),
        own_domain=settings.DESK_MESSAGE_ID_DOMAIN,
    )


def ingest_message(raw: bytes, *, source: str = "") -> IngestResult:
    """File one raw RFC 5322 message; returns what became of it.

    Never raises for bad mail (that is quarantined). Raises :class:`TransientIngestError` when
    the database fails; the transaction is rolled back, so a retry is safe.
    """
    config = intake_config()
    try:
        parsed = parse_email(raw, limits=config.limits, own_addresses=config.own_addresses,
                             own_message_id_domain=config.own_domain)
    except QuarantineError as exc:
        reason, detail = exc.reason, exc.message
        return _guarded(lambda: _quarantine(raw, reason=reason, detail=detail, source=source))
    except Exception as exc:  # a parser bug must not lose the mail or block the queue
        logger.exception("parser crashed on %s", source or "message")
        detail = f"parser crashed: {type(exc).__name__}: {exc}"
        return _guarded(lambda: _quarantine(raw, reason="parser_error", detail=detail, source=source))

    try:
        return _guarded(lambda: _file(parsed, raw))
    except TransientIngestError:
        raise
    except Exception:  # a bug while filing: keep the mail for a person instead of crashing the run
        logger.exception("filing %s failed; quarantining it", source or parsed.dedupe_key)
        detail = traceback.format_exc(limit=8)
        return _guarded(lambda: _quarantine(raw, reason="ingest_error", detail=detail, source=source,
                                            sender=parsed.sender_email, subject=parsed.subject))


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
def dedupe_key(parsed: ParsedEmail) -> str:
    key = parsed.dedupe_key
    if len(key) > _DEDUPE_KEY_MAX:
        # Keep the key deterministic and unique when a Message-ID is longer than the column.
        prefix = key.split(":", 1)[0]
        key = f"{prefix}:sha256:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"
    return key


def _file(parsed: ParsedEmail, raw: bytes) -> IngestResult:
    """Runs inside _guarded's transaction."""
    key = dedupe_key(parsed)
    existing = _existing(key)
    if existing is not None:
        return existing
    ticket = _thread_target(parsed)
    message = inbound_message(parsed, raw, key)
    # The services are atomic themselves (a savepoint inside this transaction), so a lost race
    # rolls back only their work and leaves this transaction usable for the re-read below.
    try:
        with services.files_removed_on_error():  # a lost race leaves no files behind
            if parsed.auto_reason:
                if ticket is None:
                    return IngestResult(Outcome.IGNORED_AUTO, None, parsed.auto_reason)
                # Kept on the ticket for staff; never acknowledged, never reopens or resumes.
                services.add_inbound_message(ticket=ticket, message=message, kind=MessageKind.AUTO)
                return IngestResult(Outcome.IGNORED_AUTO, ticket.reference, parsed.auto_reason)
            if ticket is not None:
                services.add_inbound_message(ticket=ticket, message=message)
                return IngestResult(Outcome.FOLLOW_UP, ticket.reference, None)
            created = services.create_ticket(
                message=message,
                channel=Channel.EMAIL,
                suggested_request_type=suggest_request_type(parsed.subject, parsed.body_text),
                language=language_of(parsed),
            )
            return IngestResult(Outcome.NEW_TICKET, created.reference, None)
    except IntegrityError:
        existing = _existing(key)
        if existing is None:
            raise
        return existing


def language_of(parsed: ParsedEmail) -> str:
    """A new requester's language: Korean if they wrote any Hangul, else English."""
    return "ko" if _HANGUL.search(f"{parsed.subject}\n{parsed.body_text[:4000]}") else "en"


def _existing(key: str) -> IngestResult | None:
    reference = Message.objects.filter(dedupe_key=key).values_list("ticket__reference", flat=True).first()
    if reference is None:
        return None
    return IngestResult(Outcome.DUPLICATE, reference, None)


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


def thread_ids(parsed: ParsedEmail) -> list[str]:
    """Message-IDs this mail answers, the most telling first: In-Reply-To, then References newest first."""
    return [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]


def _thread_target(parsed: ParsedEmail) -> Ticket | None:
    """The ticket this message continues, or None for a new conversation.

    1. In-Reply-To, then References (newest first), naming any stored message, ours or theirs.
    2. A ``[PRIV-YYYY-NNNN]`` subject reference, but only from a party to that ticket — a stranger
       quoting someone's reference must not get into their conversation.
    """
    ids = thread_ids(parsed)
    if ids:
        found = dict(
            Message.objects.filter(message_id__in=list(dict.fromkeys(ids))[:THREAD_IDS_MAX])
            .order_by("id")
            .values_list("message_id", "ticket_id")
        )
        for message_id in ids:
            if message_id in found:
                return Ticket.objects.select_related("requester").get(pk=found[message_id])
    if parsed.ticket_references:
        sender = services.normalize_email(parsed.sender_email)
        tickets = {t.reference: t for t in
                   Ticket.objects.filter(reference__in=parsed.ticket_references).select_related("requester")}
        for reference in parsed.ticket_references:
            ticket = tickets.get(reference)
            if ticket is None:
                continue
            if ticket.requester.email == sender or ticket.messages.filter(sender=sender).exists():
                return ticket
    return None


# --- Quarantine -----------------------------------------------------------------------------
def _quarantine(raw: bytes, *, reason: str, detail: str, source: str, sender: str = "",
                subject: str = "") -> IngestResult:
    key = "sha256:" + hashlib.sha256(raw).hexdigest()
    if not (sender or subject):
        sender, subject = _peek_headers(raw)
    item, _created = services.quarantine_message(
        raw_message=raw, dedupe_key=key, reason=reason, detail=detail, source=source,
        sender=sender, subject=subject,
    )
    if item.ticket_id is not None:
        # Already reviewed and filed by a person: the same bytes again are a duplicate.
        reference = Ticket.objects.filter(pk=item.ticket_id).values_list("reference", flat=True).first()
        return IngestResult(Outcome.DUPLICATE, reference, None)
    return IngestResult(Outcome.QUARANTINED, None, item.reason)


def _peek_headers(raw: bytes) -> tuple[str, str]:
    """Best-effort From/Subject for the quarantine list; the message itself may be garbage."""
    try:
        from helpdesk.intake.email.decoding import decode_header_value

        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
        sender = decode_header_value(str(headers.get("from", "")))
        subject = decode_header_value(str(headers.get("subject", "")))
        return " ".join(sender.split())[:320], " ".join(subject.split())[:500]
    except Exception:
        return "", ""
