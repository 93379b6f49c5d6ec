"""Reading a message's headers as compat32 stores them: raw values, addresses, Message-IDs, dates.

Pure functions, used by :mod:`.parser`; text decoding is :mod:`.decoding`'s.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import Message

from .decoding import collapse_whitespace, decode_bytes, decode_header_value, header_to_bytes

# An address: ASCII atoms and any character of U+0080–U+FFFF (internationalised addresses). Each
# class is written as "not one of the ASCII characters it refuses": a class naming U+0080–U+FFFF
# made the regex compiler fill a 65,536-entry table per class, 15 ms of every process's start.
# Negated, they also take characters beyond U+FFFF, which ``is_address`` refuses separately.
_LOCAL = r"""[^\x00-\x20"(),:;<>@\[\\\]\x7f]"""  # A-Z a-z 0-9 !#$%&'*+/=?^_`{|}~.- and non-ASCII
_ALNUM = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"  # A-Z a-z 0-9 and non-ASCII
_ALNUM_DASH = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"  # … and -
_ALPHA = r"[^\x00-\x40\x5b-\x60\x7b-\x7f]"  # A-Z a-z and non-ASCII
ADDR_SPEC = re.compile(
    rf"^{_LOCAL}{{1,64}}@(?:{_ALNUM}(?:{_ALNUM_DASH}{{0,62}}{_ALNUM})?\.)+{_ALPHA}{_ALNUM_DASH}{{0,62}}$"
)
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")
ANGLE_ID = re.compile(r"<\s*([^<>\s]{1,900}?)\s*>")


def is_address(addr: str) -> bool:
    """A plain addr-spec whose characters are ASCII or in U+0080–U+FFFF."""
    return bool(ADDR_SPEC.match(addr)) and not _BEYOND_BMP.search(addr)


def read_headers(msg: Message) -> dict[str, list[str]]:
    """All header values by lower-cased name, as stored by compat32 (raw, undecoded)."""
    result: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        result.setdefault(name.strip().lower(), []).append(str(value))
    return result


def first_value(raw: dict[str, list[str]], name: str) -> str | None:
    values = raw.get(name)
    return values[0] if values else None


def decoded_value(raw: dict[str, list[str]], name: str, hints: Sequence[str] = ()) -> str | None:
    values = raw.get(name)
    return None if not values else collapse_whitespace(decode_header_value(values[0], hints))


def addresses(values: list[str] | None, hints: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Parse address headers; display names are decoded after parsing (commas inside
    encoded-words must not split addresses), raw 8-bit names with the message's ``hints``."""
    if not values:
        return []
    prepared: list[str] = []
    for value in values:
        raw = header_to_bytes(value)
        # Raw 8-bit names stay bytes (surrogate-escaped) through the address parser and are decoded
        # after it, with the same rules as any header (a Latin-1 reading here would be final).
        text = raw.decode("ascii", "surrogateescape")
        prepared.append(" ".join(text.split()))
    result: list[tuple[str, str]] = []
    try:
        pairs = email.utils.getaddresses(prepared)
    except Exception:  # the address parser has had crash bugs on junk
        return []
    for name, addr in pairs:
        if not addr.isascii():  # an internationalised address: UTF-8 (RFC 6532)
            addr = decode_bytes(header_to_bytes(addr))
        addr = addr.strip().strip("<>").strip().lower()
        if addr and is_address(addr):
            result.append((collapse_whitespace(decode_header_value(name, hints)), addr))
    return result


def normalize_message_id(value: str | None) -> str | None:
    if not value:
        return None
    text = decode_bytes(header_to_bytes(value)).strip()
    match = ANGLE_ID.search(text)
    if match:
        return match.group(1)
    tokens = [t.strip("<>") for t in text.split()]
    tokens = [t for t in tokens if t]
    for token in tokens:
        if "@" in token:
            return token[:900]
    return tokens[0][:900] if tokens else None


def message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = decode_bytes(header_to_bytes(value))
    found = ANGLE_ID.findall(text) or [t.strip("<>") for t in text.split() if "@" in t]
    # A dict keeps first-seen order and finds a repeat in constant time: a list's ``in`` made
    # 100,000 References ids cost 210 s of CPU (issue 25).
    unique = list(dict.fromkeys(item for item in found if item))
    return unique[-200:]


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
