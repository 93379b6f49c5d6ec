"""Walking a message's MIME tree: the body's text and HTML, and its attachments (pure).

Lenient on purpose (issue 29): an empty text/plain alternative does not hide the HTML one, a
forwarded mail sent base64-encoded is decoded, kept as a ``.eml`` attachment and shown, and a
multipart whose boundary is never found is split again or kept as raw text.

A text part with bytes its charset cannot read (issue 25 point 12) is shown with them as ``\\xNN``
(never U+FFFD), kept byte for byte as an attachment, and listed in ``damaged`` so intake notes it.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message

from .attachments import safe_filename, sniff_content_type
from .decoding import decode_bytes
from .headers import decoded_value, normalize_message_id, read_headers
from .htmltext import html_to_text
from .lenient import unsplit_multipart
from .mime import LinearMessage
from .parts import normalize_text, part_decoded, part_disposition, part_payload, raw_filename
from .typednames import typed_filename

__all__ = ["FORWARDED_MARKER", "DamagedText", "EmailLimits", "ParsedAttachment", "Walker"]

FORWARDED_MARKER = "---------- Forwarded message ----------"


@dataclass(frozen=True)
class EmailLimits:
    """Resource limits; mail beyond them is quarantined (or, for attachments, dropped)."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 100
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 20
    max_depth: int = 32


@dataclass
class ParsedAttachment:
    """One attachment with a safe filename and a content type sniffed from its bytes."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    is_inline: bool = False


@dataclass(frozen=True)
class DamagedText:
    """A text part with bytes its charset could not read: shown as ``\\xNN``, the original kept."""

    codec: str  # the reading shown
    bad_bytes: int
    kept_as: str  # the attachment holding the part's original bytes ("" if the limits dropped it)


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


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None

    def text(self) -> str:
        if self.plain is not None:
            return self.plain
        return html_to_text(self.html) if self.html else ""


@dataclass
class Walker:
    limits: EmailLimits
    hints: Sequence[str] = ()  # the message's charsets, for undeclared 8-bit text (lenient.message_hints)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged: list[DamagedText] = field(default_factory=list)

    def visit(self, part: Message) -> list[_Segment]:
        ctype = part.get_content_type()
        if ctype.startswith("multipart/") and isinstance(part.get_payload(), str):
            # Its boundary was never found: split it again with the boundary unfolded, else keep it as text.
            again = unsplit_multipart(part)
            if again is not None:
                return self.visit(again)
            self.warnings.append("multipart boundary not found: body kept as raw text")
            return [_Segment(plain=normalize_text(decode_bytes(part_payload(part), None, self.hints)))]
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
        if ctype == "message/rfc822" and str(part.get("content-transfer-encoding", "")).strip().lower() in (
                "base64", "quoted-printable"):
            return self._encoded_forward(part)
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return [self._forwarded(inner)]
            return []
        if ctype.startswith("message/") and part.is_multipart():
            return []  # delivery-status & co outside a report: header blocks, not content
        disposition = part_disposition(part)
        filename = raw_filename(part, self.hints)
        if (
            ctype.startswith("text/")
            and ctype not in _ALWAYS_ATTACHMENT_TEXT
            and disposition != "attachment"
            and filename is None
        ):
            decoded = part_decoded(part, self.hints)
            if decoded.bad_bytes:
                self._keep_damaged(part, ctype, decoded.codec, decoded.bad_bytes)
            text = normalize_text(decoded.text)
            if ctype == "text/html":
                return [_Segment(html=text)]
            return [_Segment(plain=text)]
        self._attachment(part, ctype, disposition, filename)
        return []

    def _keep_damaged(self, part: Message, ctype: str, codec: str, bad_bytes: int) -> None:
        """Keep a text part the desk could not read cleanly byte for byte, as an attachment."""
        count = len(self.attachments)
        extension = ".html" if ctype == "text/html" else ".txt"
        self._attachment_data(part_payload(part), ctype, f"original-text-{len(self.damaged) + 1}{extension}",
                              None, "attachment")
        kept_as = self.attachments[-1].filename if len(self.attachments) > count else ""
        self.damaged.append(DamagedText(codec, bad_bytes, kept_as))
        self.warnings.append(f"text part: {bad_bytes} byte(s) not valid in {codec}, shown as \\xNN; "
                             f"original kept as {kept_as or '(dropped by the limits; in the raw mail)'}")

    def _alternative(self, children: list[Message]) -> list[_Segment]:
        collected: list[_Segment] = []
        for child in children:
            collected.extend(self.visit(child))
        # An empty text/plain beside a real HTML body must not hide it (issue 29).
        plains = [s.plain for s in collected if s.plain is not None and s.plain.strip()]
        htmls = [s.html for s in collected if s.html is not None]
        if not plains and not htmls:
            return []
        merged = _Segment(
            plain=plains[0] if plains else None,
            html=htmls[-1] if htmls else None,
        )
        return [merged]

    def _encoded_forward(self, part: Message) -> list[_Segment]:
        """A forwarded mail sent base64/QP-encoded: kept as a .eml attachment and shown as text."""
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        encoded = inner.get_payload() if isinstance(inner, Message) else payload
        carrier = Message()
        carrier["Content-Transfer-Encoding"] = str(part.get("content-transfer-encoding", "")).strip()
        carrier.set_payload(encoded if isinstance(encoded, str) else "")
        data = part_payload(carrier)
        try:
            forwarded = email.message_from_bytes(data, _class=LinearMessage, policy=email.policy.compat32)
        except Exception:
            forwarded = None
        subject = decoded_value(read_headers(forwarded), "subject", self.hints) if forwarded else None
        name = f"{(subject or 'forwarded')[:150]}.eml"
        self._attachment_data(data, "message/rfc822", name, None, "attachment")
        return [self._forwarded(forwarded)] if forwarded is not None and read_headers(forwarded) else []

    def _forwarded(self, inner: Message) -> _Segment:
        raw = read_headers(inner)
        lines = [FORWARDED_MARKER]
        for label, key in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
            value = decoded_value(raw, key, self.hints)
            if value:
                lines.append(f"{label}: {value}")
        body = "\n\n".join(t for t in (s.text() for s in self.visit(inner)) if t)
        return _Segment(plain="\n".join(lines) + "\n\n" + body)

    def _attachment(self, part: Message, ctype: str, disposition: str | None, filename: str | None) -> None:
        self._attachment_data(part_payload(part), ctype, filename, normalize_message_id(part.get("content-id")),
                              disposition)

    def _attachment_data(self, data: bytes, ctype: str, filename: str | None, content_id: str | None,
                         disposition: str | None) -> None:
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
