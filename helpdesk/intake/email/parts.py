"""One MIME part as text or bytes, its disposition and filename — lenient, never trusting input."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import Message

from .decoding import Decoded, decode_bytes, decode_header_value, decode_text, header_to_bytes
from .lenient import raw_param

NEWLINES = re.compile(r"\r\n?")
BLANK_RUN = re.compile(r"\n{4,}")


def normalize_text(text: str) -> str:
    text = NEWLINES.sub("\n", text).replace("\x00", "").lstrip("\ufeff")
    lines = [line.rstrip() for line in text.split("\n")]
    return BLANK_RUN.sub("\n\n\n", "\n".join(lines)).strip("\n")


def part_payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encodings: keep what we can
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return header_to_bytes(raw) if isinstance(raw, str) else b""


def part_text(part: Message, hints: Sequence[str] = ()) -> str:
    return normalize_text(part_decoded(part, hints).text)


def part_decoded(part: Message, hints: Sequence[str] = ()) -> Decoded:
    """The part's payload read as text (not yet normalized), with its codec and bad bytes."""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(part_payload(part), charset, hints)


def part_disposition(part: Message) -> str | None:
    value = part.get("content-disposition")
    if value is None:
        return None
    token = str(value).split(";", 1)[0].strip().lower()
    return token or None


def raw_filename(part: Message, hints: Sequence[str] = ()) -> str | None:
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = part.get_param(param, header=header)
        except Exception:
            value = None
        if value is None:
            continue
        if isinstance(value, tuple):
            charset, _lang, text = value
            data = str(text).encode("latin-1", "surrogateescape")
            decoded: str | bytes = decode_bytes(data, str(charset) if charset else None, hints)
        else:
            # Raw 8-bit names: the stdlib's own reading has already turned them into U+FFFD.
            raw = None if str(value).isascii() else raw_param(part, header, param)
            decoded = raw if raw is not None and not raw.isascii() else str(value)
        name = decode_header_value(decoded, hints)
        if name.strip():
            return name
    return None
