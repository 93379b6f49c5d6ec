"""Which charset undeclared 8-bit text is in: the world's mail, not only Korean (issue 29).

Korean-first guessing read KOI8-R Russian, GBK Chinese and Latin-1 names as Hangul. Here every
candidate decoding is scored by how plausible its *words* are — one script per word, no Cyrillic
or Han letter wedged between Latin letters, no word made of accented capitals and symbols, Hangul
read from CP949 only when it is Hangul that real Korean text uses (KS X 1001). Hints (the charsets
the message declares elsewhere) come first; CP949 wins only a tie it plausibly deserves.

Bytes that are not valid in a candidate charset are never silently replaced (issue 25 point 12): a
candidate with a few of them (at most one place per 50 non-ASCII bytes) is still scored, its bad bytes
counting against its words, and the reading keeps them as lone surrogates U+DC80–U+DCFF, which
:func:`mark_bad_bytes` shows as visible ``\\xNN`` escapes. So a Korean CP949 text declared UTF-8
with one stray byte reads as Korean with that byte marked, not as clean Cyrillic-looking mojibake.

Only text that is neither ASCII nor UTF-8 and has no usable declared charset gets here, so the
common case never pays for it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "BAD_BYTES",
    "Reading",
    "best_decoding",
    "count_bad_bytes",
    "iso2022jp_as_cp932",
    "korean_is_plausible",
    "mark_bad_bytes",
    "plausibility",
]

# The codec error handler that keeps each byte a codec cannot read as the lone surrogate U+DC00+byte
# (like "surrogateescape", but for any byte, ASCII too: a CJK codec may refuse a pair ending in one).
BAD_BYTES = "privacy-desk-bad-bytes"


def _bad_bytes_as_surrogates(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + byte) for byte in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(BAD_BYTES, _bad_bytes_as_surrogates)
_BAD_BYTE = re.compile("[\udc00-\udcff]")
_BAD_RUN = re.compile("[\udc00-\udcff]+")


def count_bad_bytes(text: str) -> int:
    """How many bytes a reading made with :data:`BAD_BYTES` could not decode."""
    return len(_BAD_BYTE.findall(text))


def mark_bad_bytes(text: str) -> str:
    """The bad bytes of a :data:`BAD_BYTES` reading as visible escapes: ``\\xff`` (never U+FFFD)."""
    return _BAD_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


class Reading(NamedTuple):
    """A decoding of some bytes: the codec, the text (bad bytes still surrogates) and how many were bad."""

    codec: str
    text: str
    bad_bytes: int = 0


# Tried after the hints, in this order (ties go to the earlier one). UTF-8 first: valid UTF-8 never
# gets here, but UTF-8 with a stray byte does, and legacy text is never nearly valid UTF-8.
_CANDIDATES = ("utf-8", "cp949", "koi8_r", "cp1251", "iso8859_7", "cp1252", "cp932", "gb18030", "big5")
_SCORED_CHARS = 65536  # longer text is scored on its beginning
# Words: runs of letters. ASCII digits and punctuation split them ("Паспорт.pdf" is two words), and
# so does CJK punctuation (CJK text has no spaces).
_TOKEN = re.compile(r"[^\s\x21-\x40\x5b-\x60\x7b-\x7e、。，．！？：；（）「」『』【】《》〈〉]+")
# Non-ASCII punctuation that real text of any script uses.
_COMMON_MARKS = frozenset("–—‘’‚“”„…·«»¿¡€£¥°§©®™•×÷¦¬±µ¶ºª²³¹¼½¾、。「」『』【】〈〉《》・ー～　！？（），：；．")


def _script(ch: str) -> str:
    o = ord(ch)
    if o < 0x80:
        return "ascii"
    if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "han"
    if 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F:
        return "kana"
    if 0x0400 <= o <= 0x04FF:
        return "cyrillic"
    if 0x0370 <= o <= 0x03FF:
        return "greek"
    if ch in _COMMON_MARKS or ch.isspace():
        return "mark"
    if ch.isalpha():
        return "latin" if o <= 0x024F or 0x1E00 <= o <= 0x1EFF else "other"
    return "junk"  # control characters, odd symbols: what mojibake is made of


_CJK = frozenset({"hangul", "han", "kana"})
_ALPHABETIC = frozenset({"cyrillic", "greek", "other"})


_EDGE_PUNCTUATION = "\"'()[]{}<>.,;:!?-–—‘’“”«»¿¡…·、。「」『』【】〈〉《》！？（），：；．"
_INSIDE_MARKS = frozenset("'’‘-–—·")  # may stand inside a word: l’été, 개인·정보


def _word_is_plausible(word: str) -> bool:
    word = word.strip(_EDGE_PUNCTUATION)
    scripts = [_script(ch) for ch in word]
    if any(s == "mark" and ch not in _INSIDE_MARKS for s, ch in zip(scripts, word, strict=True)):
        return False  # "»ъ·ї»": symbols inside a word are mojibake
    foreign = {s for s in scripts if s not in ("ascii", "mark")}
    if not foreign:
        return True
    if "junk" in foreign:
        return False
    if len(foreign) > 1 and not (foreign <= {"han", "kana"} or foreign <= {"han", "hangul"}):
        return False
    has_ascii_letter = any(ch.isascii() and ch.isalpha() for ch in word)
    if foreign & _ALPHABETIC and has_ascii_letter:
        return False  # "Frцsche": a Cyrillic letter inside a Latin word
    if foreign & _CJK:
        # Korean attaches particles to Latin words ("PDF로"); a Han character *inside* one is mojibake.
        return re.search(r"[A-Za-z][^\x00-\x7f]+[A-Za-z]", word) is None
    if foreign == {"latin"}:
        # Accented letters live inside words of a Latin language, beside plain ones.
        non_ascii = sum(1 for s in scripts if s == "latin")
        return has_ascii_letter or non_ascii <= 2
    return True


def plausibility(text: str) -> float:
    """Share of the words with non-ASCII characters that look like real words (1.0: all)."""
    good = total = 0
    for match in _TOKEN.finditer(text[:_SCORED_CHARS]):
        word = match.group(0)
        if word.isascii():
            continue
        total += 1
        good += _word_is_plausible(word)
    if not total:
        return 1.0
    cased = [ch for ch in text[:_SCORED_CHARS] if not ch.isascii() and ch.isalpha() and ch.lower() != ch.upper()]
    upper = sum(1 for ch in cased if ch.isupper()) / len(cased) if cased else 0.0
    return good / total - 0.02 * (upper > 0.5)  # running text is mostly lower case (KOI8-R against CP1251)


def _in_ks_x_1001(ch: str) -> bool:
    try:
        ch.encode("euc_kr")
    except UnicodeEncodeError:
        return False
    return True


def korean_is_plausible(text: str, *, min_syllables: int = 1) -> bool:
    """Hangul as Korean text has it: most non-ASCII letters Hangul, most of them in KS X 1001's
    2,350 common syllables (mojibake of Latin-1 pairs lands in CP949's extension instead)."""
    letters = [ch for ch in text[:_SCORED_CHARS] if not ch.isascii() and _script(ch) not in ("mark",)]
    if not letters:
        return False
    hangul = [ch for ch in letters if "\uac00" <= ch <= "\ud7a3"]
    if len(hangul) < min_syllables or len(hangul) < 0.8 * len(letters):
        return False
    if sum(1 for ch in hangul if _in_ks_x_1001(ch)) < 0.7 * len(hangul):
        return False
    return sum(_rarity(ch) for ch in hangul) <= 0.2 * len(hangul)


# Jamo that Korean text seldom uses; Chinese or Japanese bytes read as CP949 are full of them.
_RARE_FINALS = frozenset({3, 5, 6, 9, 10, 11, 12, 13, 14, 15, 18, 24, 25, 26})  # ㄳ ㄵ ㄶ ㄺ … ㅋ ㅌ ㅍ
_RARE_VOWELS = frozenset({3, 10, 15})  # ㅒ ㅙ ㅞ
_DOUBLE_INITIALS = frozenset({1, 4, 8, 10, 13})  # ㄲ ㄸ ㅃ ㅆ ㅉ


def _rarity(syllable: str) -> float:
    """0 for a syllable as common as most (가, 정, 보), up to 1 for one real text almost never has.
    On this project's Korean catalogs the mean is 0.02; on CJK mojibake 0.25–0.8."""
    index = ord(syllable) - 0xAC00
    initial, vowel, final = index // 588, index % 588 // 28, index % 28
    rare = float(final in _RARE_FINALS) + float(vowel in _RARE_VOWELS)
    rare += float(vowel == 19 and initial not in (11, 18))  # ㅢ after anything but ㅇ/ㅎ
    return min(1.0, rare + 0.5 * (initial in _DOUBLE_INITIALS))


def _score(text: str, codec: str) -> float:
    if codec == "cp949" and not korean_is_plausible(text):
        return 0.0
    if codec == "cp932" and not any("\u3040" <= ch <= "\u30ff" for ch in text):
        return 0.5 * plausibility(text)  # Japanese text always has kana; Chinese read as cp932 has none
    return plausibility(text)


# A reading with bad bytes is scored below a clean one that reads as well.
_DAMAGE_PENALTY = 0.05


def best_decoding(data: bytes, hints: Sequence[str] = ()) -> Reading | None:
    """The most plausible decoding of ``data``, hints first; None if no candidate decodes it.

    A candidate may leave a few places undecoded (a run of bad bytes, such as a multibyte character
    cut short, is one place; at most one per 50 non-ASCII bytes, and at least one): they stay in its
    text as surrogates (:data:`BAD_BYTES`, shown by :func:`mark_bad_bytes`), count as implausible
    words, and cost it :data:`_DAMAGE_PENALTY`. A nearly clean Korean reading thus beats a clean
    reading as Cyrillic or Latin mojibake; a clean plausible one beats both."""
    allowed = max(1, len(data.translate(None, _ASCII_BYTES)) // 50)  # the non-ASCII bytes
    best: tuple[float, Reading] | None = None
    seen: set[str] = set()
    for index, codec in enumerate([*hints, *_CANDIDATES]):
        if codec in seen:
            continue
        seen.add(codec)
        reading = _reading(data, codec)
        if reading is None or (reading.bad_bytes and len(_BAD_RUN.findall(reading.text)) > allowed):
            continue
        score = _score(reading.text, codec) + (0.05 if index < len(hints) else 0.0)
        score -= _DAMAGE_PENALTY if reading.bad_bytes else 0.0
        if best is None or score > best[0]:
            best = (score, reading)
        if score >= 1.05:
            break  # a hint (or the first candidate) that reads perfectly
    return None if best is None else best[1]


_ASCII_BYTES = bytes(range(128))


def _reading(data: bytes, codec: str) -> Reading | None:
    try:
        return Reading(codec, data.decode(codec))
    except UnicodeDecodeError:
        text = data.decode(codec, BAD_BYTES)
        return Reading(codec, text, count_bad_bytes(text))
    except LookupError:
        return None


# --- ISO-2022-JP with NEC / Microsoft extensions (①, ㈱, Ⅲ …): what Windows' cp50220/50221 read ---
_ESC_SEQUENCE = re.compile(rb"\x1b(\$[@B]|\([BJI])")


def iso2022jp_as_cp932(data: bytes) -> str | None:
    """Translate ISO-2022-JP's JIS X 0208 pairs to Shift_JIS and decode as cp932, which holds the
    NEC row 13 and IBM extensions Python's strict iso2022_jp refuses. None if it is not that."""
    out = bytearray()
    mode = b"(B"
    pos = 0
    for match in _ESC_SEQUENCE.finditer(data):
        out += _convert(data[pos:match.start()], mode)
        mode = match.group(1)
        pos = match.end()
    out += _convert(data[pos:], mode)
    try:
        text = bytes(out).decode("cp932")
    except UnicodeDecodeError:
        return None
    return None if "\x1b" in text else unicodedata.normalize("NFC", text)


def _convert(chunk: bytes, mode: bytes) -> bytes:
    if mode in (b"$@", b"$B"):
        out = bytearray()
        i = 0
        while i < len(chunk):
            j1 = chunk[i]
            j2 = chunk[i + 1] if i + 1 < len(chunk) else 0
            if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
                out.append(j1)  # a line break or space inside a JIS run: kept as is
                i += 1
                continue
            s1 = (j1 + 1) // 2 + 0x70
            s1 += 0x40 if s1 >= 0xA0 else 0
            s2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
            out += bytes((s1, s2))
            i += 2
        return bytes(out)
    if mode == b"(I":  # JIS X 0201 half-width katakana
        return bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
    return chunk
