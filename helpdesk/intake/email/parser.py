"""Turn raw RFC 5322 bytes into a :class:`ParsedEmail` — pure, DB-free, never trusting input.

Uses the stdlib parser with ``policy=compat32`` (fast and lenient; the ``default`` policy
is several times slower and raises on broken headers) and does all text decoding itself
(see :mod:`.decoding`).  Anything the desk must not turn into a ticket automatically
raises :class:`QuarantineError` with a machine-readable ``reason``.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message

from .authresults import sender_authentication
from .classify import find_ticket_references, language_of_text, strip_subject_prefixes, suggest_request_type
from .decoding import collapse_whitespace, decode_header_value
from .headers import (
    addresses,
    decoded_value,
    first_value,
    message_ids,
    normalize_message_id,
    parse_date,
    read_headers,
)
from .htmltext import MAX_HTML_CHARS, html_is_too_complex, sanitize_html
from .lenient import MessageHints, failed_delivery, repair_headers
from .mime import LinearMessage
from .noise import detect_auto_reason, review_reason
from .walker import FORWARDED_MARKER, DamagedText, EmailLimits, ParsedAttachment, Walker

__all__ = [
    "FORWARDED_MARKER",
    "DamagedText",
    "EmailLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "QuarantineError",
    "parse_email",
]




class QuarantineError(Exception):
    """Mail that must go to a human-reviewed quarantine instead of becoming a ticket."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass
class ParsedEmail:
    """Everything ingestion needs from one message, already decoded and sanitized."""

    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    display_subject: str
    sender_email: str
    sender_name: str
    reply_to: str | None
    to: list[str]
    cc: list[str]
    date: datetime | None
    body_text: str
    body_html: str
    attachments: list[ParsedAttachment]
    auto_reason: str | None
    ticket_references: list[str]
    dedupe_key: str
    raw_size: int
    headers: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    # For a new ticket: the request type guessed from the words, and the requester's language.
    # Worked out here, with the parsing.
    suggested_request_type: str = "other"
    language: str = "en"
    # The receiving MTA's verdict on the From domain (authresults.py): "" when not checked.
    authentication: str = ""
    # Filed, but a person should check it (a subject reading like an auto-reply: noise.review_reason).
    review_reason: str | None = None
    # A bounce: (Message-ID, X-Privacy-Desk-Ticket) of the mail it says failed (lenient.failed_delivery).
    failed_delivery: tuple[str, str] | None = None
    # Text parts with bytes their charset could not read (issue 25 point 12): noted on the ticket.
    damaged_text: list[DamagedText] = field(default_factory=list)


_DEFAULT_LIMITS = EmailLimits()
_DISPLAY_HEADERS = (
    ("From", "from"),
    ("To", "to"),
    ("Cc", "cc"),
    ("Subject", "subject"),
    ("Date", "date"),
    ("Message-ID", "message-id"),
)
_NOISE_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "return-path",
)
def _quarantine(reason: str, message: str) -> QuarantineError:
    return QuarantineError(reason, message)


def _check_structure(msg: Message, limits: EmailLimits) -> None:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > limits.max_parts:
            raise _quarantine("too_many_parts", f"more than {limits.max_parts} MIME parts")
        if depth > limits.max_depth:
            raise _quarantine("too_deep", f"MIME nesting deeper than {limits.max_depth}")
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((sub, depth + 1) for sub in payload if isinstance(sub, Message))


def _parse_bytes(raw: bytes, *, strict: bool = False) -> Message | None:
    """The stdlib's compat32 reading; a failure is a quarantine (``strict``) or None."""
    try:
        return email.message_from_bytes(raw, _class=LinearMessage, policy=email.policy.compat32)
    except (RecursionError, MemoryError) as exc:
        if strict:
            raise _quarantine("unparseable", f"MIME structure too complex: {type(exc).__name__}") from exc
    except Exception as exc:  # stdlib parser bugs on hostile input
        if strict:
            raise _quarantine("unparseable", f"stdlib parser failed: {type(exc).__name__}") from exc
    return None


def _digest(sender: str, date: str, subject: str, raw_headers: dict[str, list[str]], body_text: str,
            body_html: str, attachments: list[ParsedAttachment]) -> str:
    """What tells two mails without a Message-ID apart: everything a person would see differ (issue 29)."""
    parts = [sender, date, subject, " ".join(raw_headers.get("to") or []), " ".join(raw_headers.get("cc") or []),
             body_text, body_html, *(f"{a.filename}:{hashlib.sha256(a.data).hexdigest()}" for a in attachments)]
    return hashlib.sha256("\n\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def parse_email(
    raw: bytes,
    *,
    limits: EmailLimits = _DEFAULT_LIMITS,
    own_addresses: Iterable[str] = (),
    own_message_id_domain: str = "privacy-desk.local",
    trusted_authserv_id: str = "",
) -> ParsedEmail:
    """Parse raw message bytes; raise :class:`QuarantineError` for mail a human must triage."""
    if not raw or not raw.strip():
        raise _quarantine("empty", "message is empty")
    if len(raw) > limits.max_bytes:
        raise _quarantine("too_large", f"message is {len(raw)} bytes, limit {limits.max_bytes}")
    msg = _parse_bytes(raw, strict=True)
    assert msg is not None
    raw_headers = read_headers(msg)
    warnings: list[str] = []
    if "from" not in raw_headers:
        # A banner line or one broken header line ended the header block early: read it leniently.
        repaired = repair_headers(raw)
        msg_again = _parse_bytes(repaired) if repaired is not None else None
        if msg_again is not None and "from" in read_headers(msg_again):
            msg, raw_headers = msg_again, read_headers(msg_again)
            warnings.append("header block repaired (a banner line or broken folding before the From)")
    if not raw_headers:
        raise _quarantine("unparseable", "no RFC 5322 header block found")
    _check_structure(msg, limits)

    hints = MessageHints(msg, raw_headers)
    senders = addresses(raw_headers.get("from"), hints)
    if not senders:
        raise _quarantine("no_sender", "no usable sender address in From")
    sender_name, sender_email = senders[0]

    subject = collapse_whitespace(decode_header_value((raw_headers.get("subject") or [""])[0], hints))
    display_subject = strip_subject_prefixes(subject)
    message_id = normalize_message_id(first_value(raw_headers, "message-id"))
    in_reply_to_ids = message_ids(first_value(raw_headers, "in-reply-to"))
    references = message_ids(" ".join(raw_headers.get("references") or []))
    date_header = decoded_value(raw_headers, "date") or ""
    reply_to_list = addresses(raw_headers.get("reply-to"), hints)

    walker = Walker(limits, hints, warnings=warnings)
    try:
        segments = walker.visit(msg)
    except RecursionError as exc:
        raise _quarantine("unparseable", "MIME structure too deep to walk") from exc
    body_text = "\n\n".join(t for t in (s.text() for s in segments) if t)
    body_html = "\n".join(h for h in (sanitize_html(s.html) for s in segments if s.html) if h)
    for segment in segments:
        if segment.html and html_is_too_complex(segment.html):
            walker.warnings.append("html part too large or too deeply nested: rich view omitted")
            if segment.plain is None and len(segment.html) > MAX_HTML_CHARS:
                walker.warnings.append(f"html part truncated to {MAX_HTML_CHARS} characters for text")

    noise_headers = {name: decoded_value(raw_headers, name) or "" for name in _NOISE_HEADERS if name in raw_headers}
    own = {a.strip().lower() for a in own_addresses}
    auto_reason = detect_auto_reason(
        noise_headers,
        sender_email=sender_email,
        content_type=msg.get_content_type(),
        message_id=message_id,
        own_addresses=own,
        own_message_id_domain=own_message_id_domain,
    )
    if message_id:
        dedupe_key = f"mid:{message_id}"
    else:
        dedupe_key = "digest:" + _digest(sender_email, date_header, subject, raw_headers, body_text, body_html,
                                         walker.attachments)
    headers = {label: value for label, key in _DISPLAY_HEADERS if (value := decoded_value(raw_headers, key, hints))}

    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        subject=subject,
        display_subject=display_subject,
        sender_email=sender_email,
        sender_name=sender_name,
        reply_to=reply_to_list[0][1] if reply_to_list else None,
        to=[addr for _name, addr in addresses(raw_headers.get("to"), hints)],
        cc=[addr for _name, addr in addresses(raw_headers.get("cc"), hints)],
        date=parse_date(date_header),
        body_text=body_text,
        body_html=body_html,
        attachments=walker.attachments,
        auto_reason=auto_reason,
        ticket_references=find_ticket_references(subject),
        dedupe_key=dedupe_key,
        raw_size=len(raw),
        headers=headers,
        warnings=walker.warnings,
        suggested_request_type=suggest_request_type(subject, body_text),
        language=language_of_text(subject, body_text),
        authentication=sender_authentication(msg.raw_items(), sender_email, trusted_authserv_id),
        review_reason=None if auto_reason else review_reason(subject),
        failed_delivery=failed_delivery(msg) if auto_reason else None,
        damaged_text=walker.damaged,
    )
