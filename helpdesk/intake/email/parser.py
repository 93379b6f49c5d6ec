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

from .attachments import safe_filename, sniff_content_type
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
from .htmltext import MAX_HTML_CHARS, html_is_too_complex, html_to_text, sanitize_html
from .mime import LinearMessage
from .noise import detect_auto_reason
from .parts import part_disposition, part_payload, part_text, raw_filename
from .typednames import typed_filename

__all__ = [
    "FORWARDED_MARKER",
    "EmailLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "QuarantineError",
    "parse_email",
]

FORWARDED_MARKER = "---------- Forwarded message ----------"


@dataclass(frozen=True)
class EmailLimits:
    """Resource limits; mail beyond them is quarantined (or, for attachments, dropped)."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 100
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 20
    max_depth: int = 32


class QuarantineError(Exception):
    """Mail that must go to a human-reviewed quarantine instead of becoming a ticket."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass
class ParsedAttachment:
    """One attachment with a safe filename and a content type sniffed from its bytes."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    is_inline: bool = False


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
    # Worked out here, with the parsing (in intake's helper process, on another core).
    suggested_request_type: str = "other"
    language: str = "en"


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
_BODY_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_ALWAYS_ATTACHMENT_TEXT = frozenset(
    {"text/calendar", "text/vcard", "text/x-vcard", "text/csv", "text/rfc822-headers", "text/directory"}
)
_REPORT_SKIP = frozenset(
    {
        "message/delivery-status",
        "message/disposition-notification",
        "text/rfc822-headers",
        "message/rfc822",
        "message/feedback-report",
        "message/global-delivery-status",
        "message/global-headers",
    }
)


def _quarantine(reason: str, message: str) -> QuarantineError:
    return QuarantineError(reason, message)


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None

    def text(self) -> str:
        if self.plain is not None:
            return self.plain
        return html_to_text(self.html) if self.html else ""


@dataclass
class _Walker:
    limits: EmailLimits
    attachments: list[ParsedAttachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def visit(self, part: Message) -> list[_Segment]:
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            children = [p for p in (part.get_payload() or []) if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                return self._alternative(children)
            if ctype == "multipart/report":
                children = children[:1] + [c for c in children[1:] if c.get_content_type() not in _REPORT_SKIP]
            segments: list[_Segment] = []
            for child in children:
                segments.extend(self.visit(child))
            return segments
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return [self._forwarded(inner)]
            return []
        if ctype.startswith("message/") and part.is_multipart():
            return []  # delivery-status & co outside a report: header blocks, not content
        disposition = part_disposition(part)
        filename = raw_filename(part)
        if (
            ctype.startswith("text/")
            and ctype not in _ALWAYS_ATTACHMENT_TEXT
            and disposition != "attachment"
            and filename is None
        ):
            text = part_text(part)
            if ctype == "text/html":
                return [_Segment(html=text)]
            return [_Segment(plain=text)]
        self._attachment(part, ctype, disposition, filename)
        return []

    def _alternative(self, children: list[Message]) -> list[_Segment]:
        collected: list[_Segment] = []
        for child in children:
            collected.extend(self.visit(child))
        plains = [s.plain for s in collected if s.plain is not None]
        htmls = [s.html for s in collected if s.html is not None]
        if not plains and not htmls:
            return []
        merged = _Segment(
            plain=plains[0] if plains else None,
            html=htmls[-1] if htmls else None,
        )
        return [merged]

    def _forwarded(self, inner: Message) -> _Segment:
        raw = read_headers(inner)
        lines = [FORWARDED_MARKER]
        for label, key in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
            value = decoded_value(raw, key)
            if value:
                lines.append(f"{label}: {value}")
        body = "\n\n".join(t for t in (s.text() for s in self.visit(inner)) if t)
        return _Segment(plain="\n".join(lines) + "\n\n" + body)

    def _attachment(self, part: Message, ctype: str, disposition: str | None, filename: str | None) -> None:
        data = part_payload(part)
        index = len(self.attachments) + 1
        if len(self.attachments) >= self.limits.max_attachments:
            self.warnings.append(f"attachment dropped: more than {self.limits.max_attachments} attachments")
            return
        if len(data) > self.limits.max_attachment_bytes:
            self.warnings.append(
                f"attachment dropped: {filename or ctype} is {len(data)} bytes "
                f"(limit {self.limits.max_attachment_bytes})"
            )
            return
        content_type = sniff_content_type(data, ctype)
        content_id = normalize_message_id(part.get("content-id"))
        is_inline = disposition == "inline" or (disposition is None and content_id is not None)
        self.attachments.append(
            ParsedAttachment(
                filename=typed_filename(safe_filename(filename, index, content_type), content_type),
                content_type=content_type,
                data=data,
                content_id=content_id,
                is_inline=is_inline,
            )
        )


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


def parse_email(
    raw: bytes,
    *,
    limits: EmailLimits = _DEFAULT_LIMITS,
    own_addresses: Iterable[str] = (),
    own_message_id_domain: str = "privacy-desk.local",
) -> ParsedEmail:
    """Parse raw message bytes; raise :class:`QuarantineError` for mail a human must triage."""
    if not raw or not raw.strip():
        raise _quarantine("empty", "message is empty")
    if len(raw) > limits.max_bytes:
        raise _quarantine("too_large", f"message is {len(raw)} bytes, limit {limits.max_bytes}")
    try:
        msg = email.message_from_bytes(raw, _class=LinearMessage, policy=email.policy.compat32)
    except (RecursionError, MemoryError) as exc:
        raise _quarantine("unparseable", f"MIME structure too complex: {type(exc).__name__}") from exc
    except Exception as exc:  # stdlib parser bugs on hostile input
        raise _quarantine("unparseable", f"stdlib parser failed: {type(exc).__name__}") from exc
    raw_headers = read_headers(msg)
    if not raw_headers:
        raise _quarantine("unparseable", "no RFC 5322 header block found")
    _check_structure(msg, limits)

    senders = addresses(raw_headers.get("from"))
    if not senders:
        raise _quarantine("no_sender", "no usable sender address in From")
    sender_name, sender_email = senders[0]

    subject = collapse_whitespace(decode_header_value((raw_headers.get("subject") or [""])[0]))
    display_subject = strip_subject_prefixes(subject)
    message_id = normalize_message_id(first_value(raw_headers, "message-id"))
    in_reply_to_ids = message_ids(first_value(raw_headers, "in-reply-to"))
    references = message_ids(" ".join(raw_headers.get("references") or []))
    date_header = decoded_value(raw_headers, "date") or ""
    reply_to_list = addresses(raw_headers.get("reply-to"))

    walker = _Walker(limits)
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
        subject=subject,
        content_type=msg.get_content_type(),
        message_id=message_id,
        own_addresses=own,
        own_message_id_domain=own_message_id_domain,
    )
    if message_id:
        dedupe_key = f"mid:{message_id}"
    else:
        digest_input = f"{sender_email}\n{date_header}\n{body_text}".encode("utf-8", "surrogatepass")
        dedupe_key = "digest:" + hashlib.sha256(digest_input).hexdigest()
    headers = {label: value for label, key in _DISPLAY_HEADERS if (value := decoded_value(raw_headers, key))}

    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        subject=subject,
        display_subject=display_subject,
        sender_email=sender_email,
        sender_name=sender_name,
        reply_to=reply_to_list[0][1] if reply_to_list else None,
        to=[addr for _name, addr in addresses(raw_headers.get("to"))],
        cc=[addr for _name, addr in addresses(raw_headers.get("cc"))],
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
    )
