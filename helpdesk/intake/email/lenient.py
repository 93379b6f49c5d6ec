"""Reading broken mail the way a lenient reader would (issue 29), so that nothing is lost.

* :func:`message_hints`: the charsets a message declares anywhere, plus the most plausible reading
  of all its undeclared 8-bit text together — hints for each undeclared piece (a four-byte subject
  says little alone; the body beside it says more).
* :func:`repair_headers`: a banner line before the headers, or a header line whose folding a
  gateway broke, ends the stdlib's header block early and loses the From; re-read the block line
  by line, joining stray lines to the header before them.
* :func:`unsplit_multipart`: a multipart whose boundary is never found (folded inside its quotes).
* :func:`raw_param`: a MIME parameter's raw bytes (the stdlib turns raw 8-bit names into U+FFFD).
* :func:`failed_delivery`: which of our mails a delivery report (a bounce) says failed.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator, Sequence
from email.message import Message

from .decoding import header_to_bytes, hint_codecs
from .guess import best_decoding
from .mime import LinearMessage

__all__ = ["MessageHints", "failed_delivery", "message_hints", "raw_param", "repair_headers", "unsplit_multipart"]

_ADDRESS_AND_SUBJECT = ("from", "subject", "to", "cc", "reply-to", "sender")
_WORD_CHARSET = re.compile(rb"=\?([^?\s]{1,64})\?[bBqQ]\?")
_UNDECLARED_SAMPLE = 65536


def message_hints(msg: Message, raw_headers: dict[str, list[str]]) -> tuple[str, ...]:
    """Codecs to try on this message's undeclared 8-bit text, most telling first."""
    labels: list[str | None] = []
    undeclared = bytearray()
    for name in _ADDRESS_AND_SUBJECT:
        for value in raw_headers.get(name, ()):
            data = header_to_bytes(value)
            labels.extend(m.group(1).decode("ascii", "replace") for m in _WORD_CHARSET.finditer(data))
            if not data.isascii():
                undeclared += data + b"\n"
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            charset = part.get_param("charset")
        except Exception:
            charset = None
        if isinstance(charset, str):
            labels.insert(0, charset)  # a body's charset says more than an encoded-word's
        elif part.get_content_maintype() == "text" and len(undeclared) < _UNDECLARED_SAMPLE:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and not payload.isascii():
                undeclared += payload[:_UNDECLARED_SAMPLE]
    hints = hint_codecs(labels)
    if undeclared:
        data = bytes(undeclared)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            found = best_decoding(data, hints)
            # Learnt from this very text (ahead of declarations elsewhere), but only from a clean
            # reading: mixed header charsets read "nearly cleanly" by a CJK codec teach nothing.
            if found is not None and not found.bad_bytes and found.codec not in hints:
                hints = (found.codec, *hints)
    return hints


class MessageHints(Sequence[str]):
    """:func:`message_hints`, worked out on first use: ASCII and UTF-8 mail (nearly all of it)
    never reaches the guessing that reads them, so it never pays for walking the message."""

    def __init__(self, msg: Message, raw_headers: dict[str, list[str]]) -> None:
        self._msg, self._raw_headers = msg, raw_headers
        self._codecs: tuple[str, ...] | None = None

    def _codecs_now(self) -> tuple[str, ...]:
        if self._codecs is None:
            self._codecs = message_hints(self._msg, self._raw_headers)
        return self._codecs

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._codecs_now()[index]

    def __len__(self) -> int:
        return len(self._codecs_now())

    def __iter__(self) -> Iterator[str]:
        return iter(self._codecs_now())


_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def repair_headers(raw: bytes) -> bytes | None:
    """The message with its header block re-read leniently, or None if there is nothing to repair."""
    match = _BLANK_LINE.search(raw)
    head, rest = (raw[:match.start()], raw[match.start():]) if match else (raw, b"")
    eol = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
    lines: list[bytes] = []
    changed = False
    for line in head.splitlines():
        if (_HEADER_LINE.match(line) and not line.startswith(b"From ")) or (line[:1] in (b" ", b"\t") and lines):
            lines.append(line)
        elif lines:  # a header line whose folding was broken: it continues the one before
            lines.append(b" " + line)
            changed = True
        else:  # a banner or mbox "From " line before the headers
            changed = True
    if not changed or not lines:
        return None
    return eol.join(lines) + rest


def unsplit_multipart(part: Message) -> Message | None:
    """A multipart the stdlib could not split: split it again with its boundary unfolded."""
    boundary = part.get_boundary()
    payload = part.get_payload()
    if not boundary or not isinstance(payload, str):
        return None
    unfolded = re.sub(r"\r?\n", "", boundary)
    body = part.get_payload(decode=True)  # bytes as sent (get_payload() would replace 8-bit ones)
    if not isinstance(body, bytes):
        return None
    if unfolded == boundary or b"--" + unfolded.encode("utf-8", "surrogateescape") not in body:
        return None
    head = f'Content-Type: {part.get_content_type()}; boundary="{unfolded}"\n\n'.encode("utf-8", "surrogateescape")
    try:
        again = email.message_from_bytes(head + body, _class=LinearMessage, policy=email.policy.compat32)
    except Exception:
        return None
    return again if isinstance(again.get_payload(), list) else None


def raw_param(part: Message, header: str, param: str) -> bytes | None:
    """The raw bytes of ``param`` in ``header`` (quotes removed), as the sender wrote them."""
    for name, value in part.raw_items():
        if name.strip().lower() != header:
            continue
        data = header_to_bytes(value)
        pattern = rb"(?:^|;)\s*" + re.escape(param.encode()) + rb'\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)'
        match = re.search(pattern, re.sub(rb"\r?\n[ \t]*", b" ", data), re.IGNORECASE)
        if match is None:
            return None
        found = match.group(1)
        return re.sub(rb"\\(.)", rb"\1", found[1:-1]) if found.startswith(b'"') else found
    return None


_ACTION_FAILED = re.compile(rb"^action:\s*failed", re.IGNORECASE | re.MULTILINE)
_TICKET_HEADER = re.compile(rb"^x-privacy-desk-ticket:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID_HEADER = re.compile(rb"^message-id:\s*<?([^<>\s]+)>?", re.IGNORECASE | re.MULTILINE)


def failed_delivery(msg: Message) -> tuple[str, str] | None:
    """A delivery report (RFC 3464) saying a mail failed: ``(its Message-ID, its X-Privacy-Desk-Ticket)``
    as the returned headers name them (either may be ""), or None."""
    if msg.get_content_type() != "multipart/report" or not isinstance(msg.get_payload(), list):
        return None
    failed = False
    returned = b""
    for part in msg.get_payload():
        if not isinstance(part, Message):
            continue
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            failed = failed or any(_ACTION_FAILED.search(_block_bytes(block)) for block in _blocks(part))
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/global-headers"):
            returned += b"".join(_block_bytes(block) for block in _blocks(part))
    if not failed:
        return None
    head = returned.split(b"\n\n", 1)[0] if b"\n\n" in returned else returned
    ticket = _TICKET_HEADER.search(head)
    message_id = _MESSAGE_ID_HEADER.search(head)
    if ticket is None and message_id is None:
        return None
    return (message_id.group(1).decode("ascii", "replace") if message_id else "",
            ticket.group(1).decode("ascii", "replace") if ticket else "")


def _blocks(part: Message) -> list[Message | str]:
    payload = part.get_payload()
    return list(payload) if isinstance(payload, list) else [payload]


def _block_bytes(block: Message | str) -> bytes:
    if isinstance(block, Message):
        if isinstance(block.get_payload(), list):  # the returned message itself
            return b"".join(_block_bytes(inner) for inner in block.get_payload())
        head = "".join(f"{name}: {value}\n" for name, value in block.raw_items())
        body = block.get_payload()
        return header_to_bytes(head) + b"\n" + (header_to_bytes(body) if isinstance(body, str) else b"")
    return header_to_bytes(block)
