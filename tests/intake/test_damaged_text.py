"""Issue 25 point 12 (mail side) and the nearly clean CP949 reading: bytes a text part's charset cannot
read are never silently U+FFFD. The best reading is kept with each bad byte shown as ``\\xNN``, the
original part is kept byte for byte as an attachment, and the parse lists the damage (intake notes it
on the ticket: tests/intake_e2e/test_damaged_text_filed.py). Real bytes, built here."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.intake.email import parse_email
from helpdesk.intake.email.decoding import decode_bytes, decode_text
from helpdesk.intake.email.guess import best_decoding

REQUEST = "개인정보 열람을 요청합니다. 제 주문 내역과 배송지 정보를 보내 주세요."
THANKS = " 감사합니다. 홍길동 드림"


def _multipart(part_headers: bytes, payload: bytes) -> bytes:
    return (b"From: =?utf-8?B?" + base64.b64encode("홍길동".encode()) + b"?= <hong@example.kr>\n"
            b"To: privacy@desk.test\nSubject: =?utf-8?B?" + base64.b64encode("열람 요청".encode()) + b"?=\n"
            b"Message-ID: <damaged-1@example.kr>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="b1"\n\n'
            b"--b1\n" + part_headers + b"\n" + payload + b"\n--b1--\n")


def _base64_part(charset: bytes, data: bytes) -> bytes:
    return _multipart(b"Content-Type: text/plain; charset=" + charset + b"\nContent-Transfer-Encoding: base64\n",
                      base64.encodebytes(data))


@pytest.mark.parametrize(("charset", "data", "bad", "shown"), [
    # UTF-8 with a stray byte, a byte that can never start a sequence, and a character cut short
    (b"utf-8", REQUEST.encode() + b"\xff" + THANKS.encode(), 1, REQUEST + "\\xff" + THANKS),
    (b"UTF-8", REQUEST.encode() + b"\xc0\xaf" + THANKS.encode(), 2, REQUEST + "\\xc0\\xaf" + THANKS),
    (b"utf-8", REQUEST.encode() + "요".encode()[:2] + THANKS.encode(), 2, REQUEST + "\\xec\\x9a" + THANKS),
    # EUC-KR with a byte that is no lead byte there, and one whose second byte is not a trail byte
    (b"euc-kr", REQUEST.encode("euc-kr") + b"\xff" + THANKS.encode("euc-kr"), 1, REQUEST + "\\xff" + THANKS),
    (b"ks_c_5601-1987", REQUEST.encode("euc-kr") + b"\xb0" + THANKS.encode("euc-kr"), 1,
     REQUEST + "\\xb0" + THANKS),
])
def test_a_base64_part_with_invalid_bytes_is_marked_and_kept(charset: bytes, data: bytes, bad: int,
                                                              shown: str) -> None:
    parsed = parse_email(_base64_part(charset, data))
    assert parsed.body_text == shown
    assert "\ufffd" not in parsed.body_text
    (damage,) = parsed.damaged_text
    assert damage.bad_bytes == bad and damage.codec in ("utf-8", "cp949")
    (original,) = parsed.attachments
    assert original.data == data  # byte for byte
    assert original.filename == damage.kept_as == "original-text-1.txt"
    assert any("shown as \\xNN" in warning for warning in parsed.warnings)


def test_a_damaged_html_part_is_kept_as_html() -> None:
    html = ("<html><body><p>" + REQUEST + "</p></body></html>").encode()
    data = html.replace("주세요".encode(), "주세요".encode() + b"\xfe")
    parsed = parse_email(_multipart(b"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                                    base64.encodebytes(data)))
    assert "주세요\\xfe" in parsed.body_text and "\ufffd" not in parsed.body_text + parsed.body_html
    (original,) = parsed.attachments
    assert original.data == data and original.filename == "original-text-1.html"


def test_clean_parts_keep_no_copy_and_report_nothing() -> None:
    for charset, codec in ((b"utf-8", "utf-8"), (b"euc-kr", "euc-kr")):
        parsed = parse_email(_base64_part(charset, (REQUEST + THANKS).encode(codec)))
        assert parsed.body_text == REQUEST + THANKS
        assert parsed.attachments == [] and parsed.damaged_text == [] and parsed.warnings == []


def test_a_part_nothing_reads_keeps_every_byte_visible() -> None:
    """Every high byte twice, labelled UTF-8: no charset reads it, so each byte is shown and all kept."""
    data = bytes(range(0x80, 0x100)) * 2
    decoded = decode_text(data, "utf-8")
    assert (decoded.codec, decoded.bad_bytes) == ("utf-8", 256)
    assert decoded.text == "".join(f"\\x{byte:02x}" for byte in data)
    parsed = parse_email(_base64_part(b"utf-8", data))
    assert "\ufffd" not in parsed.body_text and parsed.body_text.startswith("\\x80\\x81")
    assert [a.data for a in parsed.attachments] == [data] and parsed.damaged_text[0].bad_bytes == 256


# --- B. CP949 declared UTF-8 with one stray byte: Korean with the byte marked, not Cyrillic mojibake ----
CP949_TEXTS = [REQUEST, "똠방각하 님, 제 개인정보 삭제를 요청합니다. 회신 부탁드립니다.",
               "주문번호 20261207-1234 건의 개인정보 처리 정지를 요청드립니다"]


@pytest.mark.parametrize("text", CP949_TEXTS)
@pytest.mark.parametrize("stray", [b"\x80", b"\xff", b"\xc9"])
def test_cp949_declared_utf8_with_one_stray_byte_reads_as_korean(text: str, stray: bytes) -> None:
    data = text.encode("cp949") + stray + THANKS.encode("cp949")
    expected = text + f"\\x{stray[0]:02x}" + THANKS
    assert decode_bytes(data, "utf-8") == expected
    assert decode_bytes(data, None) == expected
    found = best_decoding(data)
    assert found is not None and (found.codec, found.bad_bytes) == ("cp949", 1)
    parsed = parse_email(_base64_part(b"utf-8", data))
    assert parsed.body_text == expected and parsed.damaged_text[0].codec == "cp949"


def test_short_damaged_korean_still_reads_as_korean() -> None:
    assert decode_bytes("삭제 요청".encode("cp949") + b"\xff", "utf-8") == "삭제 요청\\xff"


@pytest.mark.parametrize(("text", "codec"), [
    ("Здравствуйте, удалите мои персональные данные", "koi8_r"), ("Привет, удалите мои данные", "cp1251"),
    ("机房环境服务器维护通知，请删除我的个人信息", "gbk"), ("Ärger mit der Rechnung von BÄKO", "cp1252"),
])
@pytest.mark.parametrize("stray", [b"", b"\x98", b"\xff"])
def test_other_scripts_with_a_stray_byte_never_turn_into_hangul(text: str, codec: str, stray: bytes) -> None:
    """Issue 29's rule holds for nearly clean readings too (cp1252 leaves 0x81/0x8d/0x8f/0x90/0x9d unread)."""
    data = text.encode(codec)
    data = data[: len(data) // 2] + stray + data[len(data) // 2:]
    for declared in (None, "utf-8"):
        shown = decode_bytes(data, declared)
        assert not any("\uac00" <= ch <= "\ud7a3" for ch in shown), (declared, shown)
        assert "\ufffd" not in shown
    if not stray:
        assert decode_bytes(data, None) == text


def test_a_clean_plausible_reading_beats_a_damaged_one() -> None:
    found = best_decoding("Frösche und Håvard".encode("cp1252"))
    assert found is not None and found.text == "Frösche und Håvard" and found.bad_bytes == 0


def test_mostly_damaged_bytes_are_not_read_as_nearly_clean_utf8() -> None:
    """Five bad bytes in ten non-ASCII ones is no UTF-8 with a stray byte."""
    found = best_decoding("삭제 요청".encode("cp949") + b"\xff")
    assert found is not None and found.codec != "utf-8"


# --- Properties (hypothesis): never U+FFFD; a stray byte in Korean text stays one marked byte ---------

# Real Korean words (issue 29's plausibility check rightly refuses random syllables: see guess._rarity).
KOREAN_WORDS = st.sampled_from(["개인정보", "열람", "요청", "삭제", "주문", "내역", "배송지", "정보", "감사합니다",
                                "회원", "탈퇴", "처리", "정지", "동의", "철회", "고객", "문의", "이메일", "주소",
                                "전화번호", "똠방각하", "드립니다", "확인", "부탁"])
KOREAN_TEXT = st.lists(KOREAN_WORDS, min_size=6, max_size=30).map(" ".join)


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.binary(min_size=1, max_size=300), declared=st.sampled_from(["utf-8", "euc-kr", None, "koi8-r", "x"]))
def test_no_reading_ever_makes_up_a_replacement_character(data: bytes, declared: str | None) -> None:
    decoded = decode_text(data, declared)
    assert "\ufffd" not in decoded.text or "\ufffd".encode() in data
    assert not any("\udc00" <= ch <= "\udfff" for ch in decoded.text)  # never a lone surrogate to the database


@settings(max_examples=60, deadline=None, database=None)
@given(text=KOREAN_TEXT, where=st.floats(0, 1), stray=st.sampled_from([b"\x80", b"\xff", b"\xc9", b"\xfe"]),
       codec=st.sampled_from(["cp949", "utf-8"]), declared=st.sampled_from(["utf-8", "euc-kr", None]))
def test_one_stray_byte_in_korean_text_is_one_marked_byte(text: str, where: float, stray: bytes, codec: str,
                                                         declared: str | None) -> None:
    cut = text.index(" ", int(where * (len(text) - 1))) if " " in text[int(where * (len(text) - 1)):] else len(text)
    data = text[:cut].encode(codec) + stray + text[cut:].encode(codec)
    decoded = decode_text(data, declared)
    assert decoded.text == text[:cut] + f"\\x{stray[0]:02x}" + text[cut:]
    assert decoded.bad_bytes == 1
