"""Charset and header decoding that survives what real (often Korean) mail clients send.

The stdlib decoders are strict and trust declared charsets; real mail lies about its
charset, splits multibyte characters across RFC 2047 encoded-words and ships raw 8-bit
headers.  Everything here is total: it never raises on bad input. Bytes that no reading can
decode are never replaced silently (issue 25 point 12): they are shown as visible ``\\xNN``
escapes, and :func:`decode_text` says how many there were, so a body part can be kept whole and
the damage noted (``walker``).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from helpdesk import oneline

from .guess import (
    BAD_BYTES,
    best_decoding,
    count_bad_bytes,
    iso2022jp_as_cp932,
    korean_is_plausible,
    mark_bad_bytes,
    plausibility,
)

__all__ = [
    "Decoded",
    "collapse_whitespace",
    "decode_bytes",
    "decode_header_value",
    "decode_text",
    "header_to_bytes",
    "hint_codecs",
    "normalize_charset",
    "strip_controls",
]

# Korean clients label CP949 (UHC) text with any of these; CP949 is a strict superset of
# EUC-KR, so decoding with it never loses characters such as 똠/햏/뷁.
_KOREAN_LABELS = frozenset(
    {
        "euc-kr",
        "euc_kr",
        "euckr",
        "cseuckr",
        "ks_c_5601-1987",
        "ks_c_5601",
        "ks_c_5601_1987",
        "ks_c_5601-1989",
        "ksc5601",
        "ksc_5601",
        "ks_x_1001",
        "x-windows-949",
        "windows-949",
        "cp949",
        "ms949",
        "uhc",
        "x-uhc",
        "korean",
        "iso-ir-149",
        "csksc56011987",
        "ms_kanji_kr",
    }
)
_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "default": "",
    "us-ascii": "ascii",
    "ascii": "ascii",
    # WHATWG practice: latin-1 labels really mean windows-1252.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-kr": "iso2022_kr",
    "csiso2022kr": "iso2022_kr",
}
_LATIN_CODECS = frozenset({"cp1252", "latin-1", "iso8859-15", "cp1250", "iso8859-2", "mac-roman"})
_charset_cache: dict[str, str | None] = {}


def normalize_charset(label: str | None) -> str | None:
    """Map a declared charset label to a Python codec name, or None if unknown/unusable."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if "*" in key:  # RFC 2231 language suffix: utf-8*ko
        key = key.split("*", 1)[0]
    cached = _charset_cache.get(key)
    if cached is not None or key in _charset_cache:
        return cached
    result: str | None
    if key in _KOREAN_LABELS:
        result = "cp949"
    elif key in _ALIASES:
        result = _ALIASES[key] or None
    else:
        try:
            result = codecs.lookup(key).name
        except (LookupError, ValueError):
            result = None
        if result in ("euc_kr", "cp949"):
            result = "cp949"
        elif result in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
            result = result  # legitimate but rare; keep
        elif result == "latin-1":
            result = "cp1252"
    if len(_charset_cache) < 512:
        _charset_cache[key] = result
    return result


def _try(data: bytes, codec: str, errors: str = "strict") -> str | None:
    try:
        return data.decode(codec, errors)
    except (UnicodeDecodeError, LookupError, TypeError, ValueError):
        return None


def _detect(data: bytes) -> str | None:
    try:
        # Imported on first use: only mislabelled mail needs it, and it slows every pipe start-up.
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - dependency is declared
        return None
    try:
        best = from_bytes(data).best()
    except Exception:  # detector bugs must not crash intake
        return None
    return None if best is None else str(best)


def _latin_or_korean(data: bytes, latin: str, codec: str) -> Decoded:
    """Text that decoded under a Latin label: re-read as CP949 only on strong evidence (several
    common Hangul syllables that read better than the Latin words) — never for one pair like "BÄKO"."""
    korean = _try(data, "cp949")
    if korean is not None and korean_is_plausible(korean, min_syllables=4) \
            and plausibility(korean) > plausibility(latin):
        return Decoded(korean, "cp949")
    return Decoded(latin, codec)


def hint_codecs(labels: Iterable[str | None]) -> tuple[str, ...]:
    """Declared charset labels as codecs worth trying on undeclared 8-bit text (no ASCII/UTF-8, no repeats)."""
    codecs_: list[str] = []
    for label in labels:
        codec = normalize_charset(label)
        if codec and codec not in ("ascii", "utf-8") and codec not in codecs_:
            codecs_.append(codec)
    return tuple(codecs_)


class Decoded(NamedTuple):
    """Text read from bytes: the codec that read it and how many bytes it could not (shown as ``\\xNN``)."""

    text: str
    codec: str
    bad_bytes: int = 0


def decode_bytes(data: bytes, declared: str | None = None, hints: Sequence[str] = ()) -> str:
    """The text of :func:`decode_text` (bytes no reading decodes shown as ``\\xNN``)."""
    return decode_text(data, declared, hints).text


def decode_text(data: bytes, declared: str | None = None, hints: Sequence[str] = ()) -> Decoded:
    """Decode ``data`` using the declared charset only when it is plausible.

    Order: pure ASCII → declared codec (7-bit codecs like ISO-2022-KR/-JP need it); valid UTF-8
    with 8-bit bytes → UTF-8 (legacy text is practically never valid UTF-8, and senders often
    mislabel UTF-8 as euc-kr/iso-8859-1); the declared codec strictly (a Latin label gives way to
    CP949 only on strong Korean evidence); the declared (non-UTF-8) codec with at most one bad
    byte in a hundred characters; else the most plausible reading, the declared codec and ``hints``
    (codecs the message declares elsewhere) first, nearly clean readings included (:mod:`.guess`);
    charset-normalizer; the declared codec or UTF-8 with its bad bytes marked as the very last
    resort. ASCII and UTF-8 never reach the guessing. Bad bytes are never U+FFFD: they are shown
    as ``\\xNN`` and counted in :attr:`Decoded.bad_bytes`.
    """
    codec = normalize_charset(declared)
    if not data:
        return Decoded("", codec or "ascii")
    if data.isascii():
        if codec and codec != "ascii":
            text = _try(data, codec)
            if text is not None:
                return Decoded(text, codec)
        if b"\x1b" in data:  # ISO-2022 escapes, declared or not
            found = _iso2022(data, codec)
            if found is not None:
                return found
        return Decoded(data.decode("ascii"), "ascii")
    text = _try(data, "utf-8")
    if text is not None and codec not in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
        return Decoded(text, "utf-8")
    if codec and codec not in ("ascii", "utf-8"):
        text = _try(data, codec)
        if text is not None:
            return _latin_or_korean(data, text, codec) if codec in _LATIN_CODECS else Decoded(text, codec)
        if codec.startswith("iso2022_jp"):
            text = iso2022jp_as_cp932(data)
            if text is not None:
                return Decoded(text, "cp932")
        # Declared right but damaged (a multibyte character cut at the end, one stray byte): keep
        # the declared reading rather than guess the whole text into another charset.
        text = _try(data, codec, errors=BAD_BYTES) if codec != "iso2022_kr" else None
        if text is not None:
            bad = count_bad_bytes(text)
            if bad <= max(1, len(text) // 100):
                return Decoded(mark_bad_bytes(text), codec, bad)
    reading = best_decoding(data, list(dict.fromkeys([*([codec] if codec else []), *hints])))
    if reading is not None:
        return Decoded(mark_bad_bytes(reading.text), reading.codec, reading.bad_bytes)
    detected = _detect(data)
    if detected is not None:
        return Decoded(detected, "detected")
    last = codec if codec and _try(b"", codec) is not None else "utf-8"
    text = data.decode(last, BAD_BYTES)
    return Decoded(mark_bad_bytes(text), last, count_bad_bytes(text))


def _iso2022(data: bytes, codec: str | None) -> Decoded | None:
    """7-bit text with escape sequences: ISO-2022-JP (with its NEC/IBM extensions) or -KR."""
    for candidate in ("iso2022_jp_2", "iso2022_kr"):
        if candidate != codec:
            text = _try(data, candidate)
            if text is not None:
                return Decoded(text, candidate)
    text = iso2022jp_as_cp932(data)
    return None if text is None else Decoded(text, "cp932")


def header_to_bytes(value: object) -> bytes:
    """Recover the raw header bytes the compat32 parser stored (surrogate-escaped str)."""
    if isinstance(value, bytes):
        return value
    text = str(value)
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


_ENCODED_WORD = re.compile(
    rb"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*?)\?=",
)
_FOLD = re.compile(rb"\r?\n[ \t]+|\r?\n")
_WS_ONLY = re.compile(rb"[ \t\r\n]*")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _decode_word_payload(encoding: bytes, payload: bytes) -> bytes:
    if encoding in (b"b", b"B"):
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return payload
    return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), payload.replace(b"_", b" "))


def decode_header_value(value: object, hints: Sequence[str] = ()) -> str:
    """Decode a header to text: RFC 2047 (lenient) plus raw 8-bit fallbacks.

    Adjacent encoded-words in the same charset are joined *before* charset decoding, so a
    multibyte character split across two words still decodes.  Whitespace between
    encoded-words is dropped (RFC 2047 §6.2); missing whitespace is tolerated. Raw 8-bit text
    is read with ``hints``, the charsets the message declares (see :func:`decode_bytes`).
    """
    if value is None:
        return ""
    raw = header_to_bytes(value)
    raw = _FOLD.sub(b" ", raw)
    if b"=?" not in raw:
        return strip_controls(decode_bytes(raw, hints=hints) if not raw.isascii() or b"\x1b" in raw
                              else raw.decode("ascii"))
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(bytes(pending), pending_charset, hints))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[pos : match.start()]
        if gap and not (pending and _WS_ONLY.fullmatch(gap)):
            flush()
            out.append(decode_bytes(gap, hints=hints))
        charset = match.group(1).decode("ascii", "replace").lower()
        if "*" in charset:
            charset = charset.split("*", 1)[0]
        data = _decode_word_payload(match.group(2), match.group(3))
        if pending and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.extend(data)
        pos = match.end()
    flush()
    tail = raw[pos:]
    if tail:
        out.append(decode_bytes(tail, hints=hints))
    return strip_controls("".join(out))


def strip_controls(text: str) -> str:
    """Remove control and bidi-override characters that only serve spoofing/garbage."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub("", text.replace("\t", " ").replace("\r", " ").replace("\n", " "))


def collapse_whitespace(text: str) -> str:
    """A header value on one line: runs of whitespace and control characters (CR, LF, U+2028, ESC…)
    become single spaces, NFC-normalized, so a decoded name or subject cannot forge lines in mail."""
    return oneline.fold(text)
