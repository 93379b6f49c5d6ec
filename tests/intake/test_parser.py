"""Tests for the pure e-mail intake parser (no database, no Django settings needed).

Run: python -m pytest tests/intake/test_parser.py -q -p no:django
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.intake.email import (
    FORWARDED_MARKER,
    REQUEST_TYPES,
    EmailLimits,
    ParsedEmail,
    QuarantineError,
    parse_email,
    strip_subject_prefixes,
    suggest_request_type,
)
from helpdesk.intake.email.attachments import safe_filename, sniff_content_type
from helpdesk.intake.email.decoding import decode_bytes, decode_header_value, normalize_charset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
OWN = ("micube@micube.co.kr",)
SEOUL = ZoneInfo("Asia/Seoul")


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **kwargs: Any) -> ParsedEmail:
    return parse_email(raw(name), own_addresses=OWN, **kwargs)


# --------------------------------------------------------------------------- corpus
def test_corpus_is_complete_and_consistent() -> None:
    files = {p.name for p in FIXTURES.glob("*.eml")}
    listed = [c["file"] for c in CASES]
    assert len(listed) == len(set(listed))
    assert set(listed) == files
    assert len(files) >= 45
    outcomes = {"new_ticket", "follow_up", "duplicate", "ignored_auto", "quarantined"}
    for case in CASES:
        assert set(case) == {"file", "outcome", "reason", "request_type", "thread_to", "note"}
        assert case["outcome"] in outcomes
        assert (case["request_type"] is not None) == (case["outcome"] == "new_ticket")
        assert (case["reason"] is not None) == (case["outcome"] in ("ignored_auto", "quarantined"))
        assert (case["thread_to"] is not None) == (case["outcome"] in ("follow_up", "duplicate"))
        if case["request_type"] is not None:
            assert case["request_type"] in REQUEST_TYPES
        if case["thread_to"] is not None:
            assert listed.index(case["thread_to"]) < listed.index(case["file"])


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_fixture_parses_as_expected(case: dict[str, Any]) -> None:
    if case["outcome"] == "quarantined":
        with pytest.raises(QuarantineError) as excinfo:
            parse(case["file"])
        assert excinfo.value.reason == case["reason"]
        assert str(excinfo.value)
        return
    parsed = parse(case["file"])
    assert parsed.raw_size == len(raw(case["file"]))
    assert parsed.sender_email == parsed.sender_email.lower()
    assert "@" in parsed.sender_email
    assert parsed.date is not None
    assert parsed.date.tzinfo is not None
    assert parsed.date.astimezone(SEOUL).year == 2026
    if case["outcome"] == "ignored_auto":
        assert parsed.auto_reason == case["reason"]
    else:
        assert parsed.auto_reason is None
    if case["outcome"] == "new_ticket":
        assert suggest_request_type(parsed.display_subject, parsed.body_text) == case["request_type"]
    # Worked out with the parsing, for a new ticket: the guess from the subject and the body, and
    # Korean when any Hangul was written.
    assert parsed.suggested_request_type == suggest_request_type(parsed.subject, parsed.body_text)
    hangul = any("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e"
                 for c in f"{parsed.subject}\n{parsed.body_text[:4000]}")
    assert parsed.language == ("ko" if hangul else "en")
    if case["outcome"] != "ignored_auto":
        assert parsed.body_text.strip(), "human mail must have a readable body"


def test_expected_json_matches_a_reference_desk() -> None:
    """Replays the corpus through a tiny in-memory desk to prove expected.json is coherent.

    Rules: quarantine → auto → duplicate (dedupe_key) → In-Reply-To/References to a known
    message → subject ticket reference from the ticket's requester → new ticket numbered
    PRIV-<Seoul year of Date>-NNNN.
    """
    seen_keys: dict[str, str] = {}
    message_to_ticket: dict[str, str] = {}
    tickets: dict[str, tuple[str, str]] = {}  # ref -> (requester, first file)
    file_ticket: dict[str, str] = {}
    counters: dict[int, int] = {}
    for case in CASES:
        name = case["file"]
        try:
            parsed = parse(name)
        except QuarantineError as exc:
            assert (case["outcome"], case["reason"]) == ("quarantined", exc.reason), name
            continue
        if parsed.auto_reason:
            assert (case["outcome"], case["reason"]) == ("ignored_auto", parsed.auto_reason), name
            continue
        if parsed.dedupe_key in seen_keys:
            assert case["outcome"] == "duplicate", name
            assert case["thread_to"] == seen_keys[parsed.dedupe_key], name
            continue
        seen_keys[parsed.dedupe_key] = name
        thread: str | None = None
        for ref in [parsed.in_reply_to, *reversed(parsed.references)]:
            if ref and ref in message_to_ticket:
                thread = message_to_ticket[ref]
                break
        if thread is None:
            for ref in parsed.ticket_references:
                if ref in tickets and tickets[ref][0] == parsed.sender_email:
                    thread = ref
                    break
        if thread is not None:
            assert case["outcome"] == "follow_up", name
            assert file_ticket[case["thread_to"]] == thread, name
        else:
            assert case["outcome"] == "new_ticket", name
            assert parsed.date is not None
            year = parsed.date.astimezone(SEOUL).year
            counters[year] = counters.get(year, 0) + 1
            thread = f"PRIV-{year}-{counters[year]:04d}"
            tickets[thread] = (parsed.sender_email, name)
        file_ticket[name] = thread
        if parsed.message_id:
            message_to_ticket[parsed.message_id] = thread
    assert file_ticket["001_plain_utf8_korean.eml"] == "PRIV-2026-0001"


# ----------------------------------------------------------------- exact decoding
DECODED = [
    # file, subject, sender_name, body_text (exact)
    (
        "001_plain_utf8_korean.eml",
        "개인정보 열람 요청드립니다",
        "홍길동",
        "안녕하세요. 제 개인정보 열람을 요청합니다.\n"
        "회원 가입 시 제공한 정보와 최근 1년간의 이용 내역을 확인하고 싶습니다.\n\n홍길동 드림",
    ),
    (
        "002_euckr_declared.eml",
        "개인정보 정정 요청",
        "김민지",
        "안녕하세요. 제 주소가 잘못 등록되어 있어 정정을 요청합니다.\n새 주소는 서울특별시 중구 세종대로 110입니다.",
    ),
    (
        "003_ks_c_5601_cp949_only_chars.eml",
        "똠방각하 회원 탈퇴 신청",
        "똠방각하",
        "안녕하세요. 햏자 닉네임으로 가입한 계정의 회원 탈퇴를 신청합니다. 뷁.",
    ),
    (
        "004_iso2022kr.eml",
        "개인정보 삭제 요청",
        "",
        "안녕하세요. 더 이상 서비스를 이용하지 않으니 제 개인정보 삭제를 요청합니다.",
    ),
    (
        "005_undeclared_8bit_utf8_subject.eml",
        "개인정보 처리정지 요청",
        "정하늘",
        "안녕하세요. 마케팅 목적의 개인정보 처리정지를 요청합니다.",
    ),
    (
        "006_undeclared_8bit_cp949_subject.eml",
        "광고 문자 수신 거부 요청합니다",
        "윤도현",
        "안녕하세요. 앞으로 광고 문자와 이메일을 받지 않도록 수신 거부를 요청합니다.",
    ),
    (
        "007_wrong_charset_latin1_is_utf8.eml",
        "개인정보 처리 관련 문의",
        "",
        "안녕하세요. 개인정보 처리와 관련하여 문의드립니다. 보관 기간이 어떻게 되나요?",
    ),
    (
        "008_wrong_charset_euckr_is_utf8.eml",
        "상담원 응대 관련 민원",
        "",
        "고객센터 상담원의 응대에 대해 민원을 제기합니다. 제 개인정보를 동의 없이 다른 사람에게 말했습니다.",
    ),
    ("009_rfc2047_split_multibyte.eml", "개인정보 사본 발급 요청", "한지민", "개인정보 사본 발급을 요청합니다."),
    ("010_rfc2047_lowercase_garbled.eml", "내 개인정보 삭제 요청", "", "안녕하세요. 제 개인정보를 모두 삭제해 주세요."),
]


@pytest.mark.parametrize(("name", "subject", "sender_name", "body"), DECODED, ids=[d[0] for d in DECODED])
def test_decoded_korean_exact(name: str, subject: str, sender_name: str, body: str) -> None:
    parsed = parse(name)
    assert parsed.subject == subject
    assert parsed.sender_name == sender_name
    assert parsed.body_text == body
    assert "\ufffd" not in parsed.subject + parsed.body_text + parsed.sender_name
    assert parsed.headers["Subject"] == subject


def test_qp_body_crlf_and_quoted_display_name() -> None:
    parsed = parse("012_qp_body_crlf.eml")
    assert parsed.sender_name == "O'Brien, Sarah"
    assert parsed.sender_email == "sarah.obrien@example.com"
    assert "I\u2019d like to request a copy of my personal data that you hold" in parsed.body_text
    assert "\r" not in parsed.body_text
    assert parsed.body_text.endswith("Kind regards,\nSarah O\u2019Brien")


def test_base64_body() -> None:
    parsed = parse("013_base64_body.eml")
    assert parsed.body_text.startswith("Hi,\nplease correct my mailing address")


def test_html_only_becomes_readable_text() -> None:
    parsed = parse("014_html_only.eml")
    assert parsed.body_text == (
        "안녕하세요.\n\n제 개인정보 삭제를 요청합니다.\n처리 결과는 이메일 & 문자로 알려 주세요.\n\n"
        "연락처: 010-1234-5678\n\n- 이름\n- 전화번호"
    )
    assert "color: red" not in parsed.body_text and "메일" not in parsed.body_text.split("\n")[0]
    assert "<p>안녕하세요.</p>" in parsed.body_html
    assert "<style" not in parsed.body_html and "<title" not in parsed.body_html


def test_multipart_alternative_prefers_plain() -> None:
    parsed = parse("015_multipart_alternative.eml")
    assert parsed.body_text == "PLAIN VERSION: please delete all my personal data."
    assert parsed.body_html == "<p>HTML VERSION: please <b>delete</b> all my personal data.</p>"


def test_hostile_html_is_sanitized() -> None:
    parsed = parse("016_hostile_html.eml")
    html = parsed.body_html.lower()
    for bad in ("<script", "onerror", "onload", "javascript:", "<iframe", "<style", "<form", "<input", "style="):
        assert bad not in html, bad
    assert "alert" not in html
    assert "I have a question about your privacy policy." in parsed.body_html
    assert "alert" not in parsed.body_text and "document.cookie" not in parsed.body_text


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_no_dangerous_html_anywhere(case: dict[str, Any]) -> None:
    if case["outcome"] == "quarantined":
        return
    html = parse(case["file"]).body_html.lower()
    assert "<script" not in html
    assert "onerror" not in html
    assert "javascript:" not in html


# ------------------------------------------------------------------- attachments
def test_rfc2231_filename_with_continuations() -> None:
    (att,) = parse("011_rfc2231_korean_filename.eml").attachments
    assert att.filename == "개인정보_열람_청구서_박서준.pdf"
    assert att.content_type == "application/pdf"
    assert att.data.startswith(b"%PDF-")
    assert att.is_inline is False


def test_inline_image_with_cid() -> None:
    parsed = parse("017_inline_image_cid.eml")
    (att,) = parsed.attachments
    assert att.content_id == "shot1@example.com"
    assert att.is_inline is True
    assert att.content_type == "image/png"
    assert att.filename == "screenshot.png"
    assert 'src="cid:shot1@example.com"' in parsed.body_html


def test_pdf_declared_octet_stream_is_sniffed() -> None:
    (att,) = parse("018_pdf_as_octet_stream.eml").attachments
    assert att.content_type == "application/pdf"
    assert att.filename == "evidence.pdf"


def test_exe_declared_png_is_not_trusted() -> None:
    (att,) = parse("019_exe_as_png.eml").attachments
    assert att.content_type == "application/x-msdownload"


def test_hostile_filenames_are_made_safe() -> None:
    names = [a.filename for a in parse("020_path_traversal_filenames.eml").attachments]
    # invoice‮gnp.exe holds a PDF: its name ends in .pdf as well (issue 25.3)
    assert names == ["passwd", "x.txt", "invoicegnp.exe.pdf", "attachment-4.pdf", "htaccess"]


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_attachment_filename_is_safe(case: dict[str, Any]) -> None:
    if case["outcome"] == "quarantined":
        return
    for att in parse(case["file"]).attachments:
        name = att.filename
        assert name and len(name) <= 200
        assert "/" not in name and "\\" not in name
        assert not name.startswith(".")
        assert all(unicodedata.category(ch) not in ("Cc", "Cf") for ch in name)
        assert re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", att.content_type)


def test_forwarded_message_is_included() -> None:
    parsed = parse("021_forwarded_rfc822.eml")
    assert parsed.body_text.startswith("어머니의 요청을 대신 전달드립니다.\n\n" + FORWARDED_MARKER)
    assert "From: 이영희 <younghee.lee@example.com>" in parsed.body_text
    assert "Subject: 개인정보 처리정지 요청" in parsed.body_text
    assert "Date: Sun, 04 Jan 2026 20:15:00 +0900" in parsed.body_text
    assert parsed.body_text.endswith("안녕하세요. 제 개인정보의 처리정지를 요청합니다. 위임장을 첨부합니다.")
    (att,) = parsed.attachments
    assert att.filename == "위임장.docx"
    assert att.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\x.txt", "x.txt"),
        ("C:\\Users\\me\\Desktop\\신분증.jpg", "신분증.jpg"),
        ("...", "attachment-3.pdf"),
        ("", "attachment-3.pdf"),
        (None, "attachment-3.pdf"),
        (".bashrc", "bashrc"),
        ("re\x00port\x1b.pdf", "report.pdf"),
        ("a<b>c:d|e?.pdf", "a_b_c_d_e_.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("  spaced   name .pdf  ", "spaced name .pdf"),
    ],
)
def test_safe_filename_table(name: str | None, expected: str) -> None:
    assert safe_filename(name, 3, "application/pdf") == expected


def test_safe_filename_truncates_keeping_extension() -> None:
    result = safe_filename("가" * 300 + ".pdf", 1, "application/pdf")
    assert len(result) == 200
    assert result.endswith(".pdf")


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (b"%PDF-1.7 ...", "application/octet-stream", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/jpeg", "image/png"),
        (b"\xff\xd8\xff\xe0....", None, "image/jpeg"),
        (b"GIF89a....", "application/pdf", "image/gif"),
        (b"MZ\x90\x00" + b"\x00" * 60, "image/png", "application/x-msdownload"),
        (b"hello, plain text\n", "application/octet-stream", "text/plain"),
        ("한글 텍스트".encode("cp949"), "image/png", "text/plain"),
        (b"a,b\n1,2\n", "text/csv", "text/csv"),
        (b"\x00\x01\x02\x03binary", "application/x-custom", "application/x-custom"),
        (b"\x00\x01\x02\x03binary", "image/png", "application/octet-stream"),
        (b"\x00\x01\x02\x03binary", "not a type", "application/octet-stream"),
        (b"<!DOCTYPE html><html></html>", "application/octet-stream", "text/html"),
        (b"", None, "application/octet-stream"),
    ],
)
def test_sniff_content_type_table(data: bytes, declared: str | None, expected: str) -> None:
    assert sniff_content_type(data, declared) == expected


# ------------------------------------------------------------------ noise & threading
def test_threading_headers() -> None:
    original = parse("002_euckr_declared.eml")
    reply = parse("022_reply_in_reply_to.eml")
    assert reply.in_reply_to == original.message_id
    assert original.message_id is not None and "<" not in original.message_id
    refs = parse("023_reply_references_only.eml")
    assert refs.in_reply_to is None
    assert refs.references == ["unrelated-1@mail.example.com", parse("005_undeclared_8bit_utf8_subject.eml").message_id]
    ref_reply = parse("024_reply_subject_ref_requester.eml")
    assert ref_reply.ticket_references == ["PRIV-2026-0001"]
    assert ref_reply.display_subject == "[PRIV-2026-0001] 개인정보 열람 요청드립니다"
    stranger = parse("025_subject_ref_stranger.eml")
    assert stranger.ticket_references == ["PRIV-2026-0001"]
    assert stranger.sender_email != ref_reply.sender_email


def test_prefix_chain_fixture() -> None:
    assert parse("026_prefix_chain.eml").display_subject == "개인정보 처리방침 질문"


def test_own_address_requires_parameter_and_is_case_insensitive() -> None:
    assert parse_email(raw("039_own_address.eml")).auto_reason is None
    assert parse_email(raw("039_own_address.eml"), own_addresses=["MICUBE@micube.co.kr "]).auto_reason == "own_address"


def test_own_message_id_domain_parameter() -> None:
    assert parse("040_own_message_id.eml").auto_reason == "own_message"
    other = parse("040_own_message_id.eml", own_message_id_domain="privacy-desk.micube.co.kr")
    assert other.auto_reason is None
    mine = parse("001_plain_utf8_korean.eml", own_message_id_domain="example.com")
    assert mine.auto_reason == "own_message"


def _with_header(base: bytes, header: bytes) -> bytes:
    return header + b"\n" + base


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"Auto-Submitted: auto-replied", "auto_submitted"),
        (b"Auto-Submitted: auto-notified; owner-email=x@example.com", "auto_submitted"),
        (b"Auto-Submitted: no", None),
        (b"Auto-Submitted: No (human)", None),
        (b"X-Autoreply: yes", "autoreply_header"),
        (b"X-Autorespond: 1", "autoreply_header"),
        (b"X-Auto-Response-Suppress: All", None),
        (b"Precedence: junk", "precedence"),
        (b"Precedence: list", "precedence"),
        (b"Precedence: auto_reply", "precedence"),
        (b"Precedence: first-class", None),
        (b"List-Id: <a.b.example.org>", "mailing_list"),
    ],
)
def test_noise_headers(header: bytes, reason: str | None) -> None:
    base = raw("013_base64_body.eml").replace(b"Return-Path: <daniel.m@example.org>\n", b"")
    assert parse_email(_with_header(base, header)).auto_reason == reason


def test_null_return_path_with_spaces() -> None:
    base = raw("013_base64_body.eml").replace(b"Return-Path: <daniel.m@example.org>", b"Return-Path: < >")
    assert parse_email(base).auto_reason == "null_return_path"


def test_normal_mail_has_no_auto_reason() -> None:
    for case in CASES:
        if case["outcome"] in ("new_ticket", "follow_up", "duplicate"):
            assert parse(case["file"]).auto_reason is None, case["file"]


# ---------------------------------------------------------------------- dedupe
def test_dedupe_keys() -> None:
    first, second = parse("045_duplicate_mid_first.eml"), parse("046_duplicate_mid_second.eml")
    assert first.dedupe_key == second.dedupe_key == "mid:CAF=dup-45+x@mail.example.com"
    a, b = parse("047_duplicate_nomid_first.eml"), parse("048_duplicate_nomid_second.eml")
    assert a.message_id is None
    assert a.dedupe_key == b.dedupe_key
    assert re.fullmatch(r"digest:[0-9a-f]{64}", a.dedupe_key)
    keys = [parse(c["file"]).dedupe_key for c in CASES if c["outcome"] == "new_ticket"]
    assert len(keys) == len(set(keys))


def test_digest_changes_with_body() -> None:
    a = parse("047_duplicate_nomid_first.eml")
    changed = parse_email(raw("047_duplicate_nomid_first.eml").replace(b"Please erase", b"Kindly erase"))
    assert changed.dedupe_key != a.dedupe_key


# ---------------------------------------------------------------------- limits
def test_too_large_with_small_limit() -> None:
    data = raw("001_plain_utf8_korean.eml")
    with pytest.raises(QuarantineError) as excinfo:
        parse_email(data, limits=EmailLimits(max_bytes=len(data) - 1))
    assert excinfo.value.reason == "too_large"
    assert parse_email(data, limits=EmailLimits(max_bytes=len(data))).sender_email == "hong.gildong@example.com"


def test_too_many_parts_with_small_limit() -> None:
    with pytest.raises(QuarantineError) as excinfo:
        parse_email(raw("020_path_traversal_filenames.eml"), limits=EmailLimits(max_parts=5))
    assert excinfo.value.reason == "too_many_parts"
    parse_email(raw("020_path_traversal_filenames.eml"), limits=EmailLimits(max_parts=7))


def test_attachment_limits_drop_with_warning() -> None:
    parsed = parse_email(raw("020_path_traversal_filenames.eml"), limits=EmailLimits(max_attachments=2))
    assert [a.filename for a in parsed.attachments] == ["passwd", "x.txt"]
    assert len(parsed.warnings) == 3
    parsed = parse_email(raw("020_path_traversal_filenames.eml"), limits=EmailLimits(max_attachment_bytes=40))
    assert [a.filename for a in parsed.attachments] == ["passwd", "x.txt"]
    assert all("dropped" in w for w in parsed.warnings)


def test_extremely_deep_nesting_is_quarantined_not_crashing() -> None:
    depth = 3000
    body = b"x\n"
    head = b"From: a@example.com\nSubject: deep\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n"
    parts = [b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)]
    closing = [b"\n--b%d--\n" % i for i in reversed(range(depth))]
    message = head + b"".join(parts) + b"--b%d\nContent-Type: text/plain\n\n" % depth + body + b"".join(closing)
    with pytest.raises(QuarantineError) as excinfo:
        parse_email(message, limits=EmailLimits(max_parts=100_000))
    assert excinfo.value.reason in ("too_deep", "unparseable")


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\n"])
def test_empty_inputs(data: bytes) -> None:
    with pytest.raises(QuarantineError) as excinfo:
        parse_email(data)
    assert excinfo.value.reason == "empty"


@pytest.mark.parametrize(
    "from_header",
    [
        b"From: undisclosed-recipients:;",
        b"From: <>",
        b"From: @example.com",
        b"From: a@",
        b"From: not an address at all",
    ],
)
def test_garbage_from(from_header: bytes) -> None:
    message = from_header + b"\nSubject: x\nDate: Mon, 05 Jan 2026 09:00:00 +0900\n\nbody\n"
    with pytest.raises(QuarantineError) as excinfo:
        parse_email(message)
    assert excinfo.value.reason == "no_sender"


def test_robust_against_truncation_and_mutation() -> None:
    """Never anything but a ParsedEmail or a QuarantineError, whatever the bytes."""
    rng = random.Random(7)
    samples = [c["file"] for c in CASES if c["outcome"] != "quarantined"]
    for name in samples:
        data = raw(name)
        variants = [data[: rng.randrange(1, len(data))] for _ in range(3)]
        for _ in range(3):
            mutated = bytearray(data)
            for _ in range(20):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            variants.append(bytes(mutated))
        for variant in variants:
            try:
                parsed = parse_email(variant)
            except QuarantineError:
                continue
            assert isinstance(parsed.body_text, str)
            assert "<script" not in parsed.body_html.lower()


# --------------------------------------------------------------------- headers
def test_headers_and_recipients() -> None:
    parsed = parse("001_plain_utf8_korean.eml")
    assert parsed.to == ["micube@micube.co.kr"]
    assert parsed.cc == []
    assert parsed.reply_to is None
    assert parsed.headers["From"] == "홍길동 <hong.gildong@example.com>"
    assert parsed.headers["To"] == "개인정보 보호 담당자 <micube@micube.co.kr>"
    assert parsed.headers["Message-ID"] == "<20260105.0001.07919@mail.example.com>"
    assert parsed.message_id == "20260105.0001.07919@mail.example.com"
    assert parsed.date == datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    assert set(parsed.headers) == {"From", "To", "Subject", "Date", "Message-ID"}


def test_address_lists_and_reply_to() -> None:
    message = (
        b'From: "Kim, A" <A.Kim@Example.COM>\n'
        b"To: =?UTF-8?B?7ZmN6ri464+ZLCDqs6DqsJ0=?= <x@example.com>, y@example.com\n"
        b"Cc: z@example.com\nCc: w@example.org\nReply-To: <Reply@Example.com>\n"
        b"Message-ID: no-brackets@example.com\nIn-Reply-To: garbage <p@example.com> trailing\n"
        b"Date: Mon, 5 Jan 2026 09:00:00 -0000\nSubject:  many    spaces\n\tfolded\n\nhi\n"
    )
    parsed = parse_email(message)
    assert parsed.sender_email == "a.kim@example.com"
    assert parsed.sender_name == "Kim, A"
    assert parsed.to == ["x@example.com", "y@example.com"]
    assert parsed.cc == ["z@example.com", "w@example.org"]
    assert parsed.reply_to == "reply@example.com"
    assert parsed.message_id == "no-brackets@example.com"
    assert parsed.in_reply_to == "p@example.com"
    assert parsed.subject == "many spaces folded"
    assert parsed.date == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["not a date", "Mon, 99 Foo 2026 99:99:99 +0900", ""])
def test_bad_dates_are_none(value: str) -> None:
    message = f"From: a@example.com\nDate: {value}\nSubject: s\n\nbody\n".encode()
    assert parse_email(message).date is None


# --------------------------------------------------------------------- decoding units
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("=?UTF-8?B?7ZmN6ri464+Z?=", "홍길동"),
        ("=?utf-8?q?=ED=99=8D?= =?utf-8?q?=EA=B8=B8=EB=8F=99?=", "홍길동"),
        ("=?UTF-8?B?7ZmN?==?UTF-8?B?6ri464+Z?=", "홍길동"),
        ("=?EUC-KR?B?yKux 5rW/?=", "홍길동"),
        ("=?ks_c_5601-1987?B?jGM=?=", "똠"),
        ("=?UTF-8*ko?B?7ZmN6ri464+Z?=", "홍길동"),
        ("=?bogus-charset?B?7ZmN6ri464+Z?=", "홍길동"),
        ("Re: =?UTF-8?B?7ZmN6ri464+Z?= plain", "Re: 홍길동 plain"),
        ("=?UTF-8?B?broken", "=?UTF-8?B?broken"),
        ("=?UTF-8?Q?a_b?=", "a b"),
        ("plain ascii", "plain ascii"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
    ],
)
def test_decode_header_value(header: str, expected: str) -> None:
    assert decode_header_value(header) == expected


def test_decode_header_value_raw_8bit() -> None:
    utf8 = "개인정보 요청".encode().decode("ascii", "surrogateescape")
    cp949 = "개인정보 요청".encode("cp949").decode("ascii", "surrogateescape")
    assert decode_header_value(utf8) == "개인정보 요청"
    assert decode_header_value(cp949) == "개인정보 요청"


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("똠방각하".encode("cp949"), "euc-kr", "똠방각하"),
        ("똠방각하".encode("cp949"), "ks_c_5601-1987", "똠방각하"),
        ("개인정보".encode("cp949"), "iso-8859-1", "개인정보"),  # latin label on Hangul CP949 bytes
        ("개인정보".encode(), "euc-kr", "개인정보"),
        ("개인정보".encode(), "iso-8859-1", "개인정보"),
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        ("개인정보".encode("iso2022_kr"), "iso-2022-kr", "개인정보"),
        ("개인정보".encode("cp949"), None, "개인정보"),
        ("개인정보".encode("cp949"), "x-made-up", "개인정보"),
        (b"plain", "utf-8", "plain"),
    ],
)
def test_decode_bytes(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_bytes(data, declared) == expected


def test_decode_bytes_never_raises() -> None:
    rng = random.Random(3)
    for _ in range(50):
        blob = rng.randbytes(rng.randrange(1, 200))
        assert isinstance(decode_bytes(blob, rng.choice(["utf-8", "euc-kr", None, "junk", "iso-2022-kr"])), str)


def test_normalize_charset_korean_labels() -> None:
    for label in ("euc-kr", "EUC-KR", "ks_c_5601-1987", "ks_c_5601", "x-windows-949", "korean", '"euc-kr"'):
        assert normalize_charset(label) == "cp949"
    assert normalize_charset("nonsense") is None
    assert normalize_charset(None) is None


# ------------------------------------------------------------------ subjects & types
@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: hello", "hello"),
        ("RE: hello", "hello"),
        ("re:hello", "hello"),
        ("Fwd: hello", "hello"),
        ("FW: hello", "hello"),
        ("Fw: hello", "hello"),
        ("Re: Re: Fwd: hello", "hello"),
        ("Re[2]: hello", "hello"),
        ("Re :hello", "hello"),
        ("RE : FW : hello", "hello"),
        ("답장: 개인정보 열람", "개인정보 열람"),
        ("회신: 회신: 개인정보 열람", "개인정보 열람"),
        ("전달: 개인정보 열람", "개인정보 열람"),
        ("Re：개인정보", "개인정보"),
        ("RE: [PRIV-2026-0001] Re: inner", "[PRIV-2026-0001] Re: inner"),
        ("Regarding my data", "Regarding my data"),
        ("Fwdx: hi", "Fwdx: hi"),
        ("Re:", ""),
        ("", ""),
    ],
)
def test_strip_subject_prefixes(subject: str, expected: str) -> None:
    assert strip_subject_prefixes(subject) == expected


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("개인정보 열람 요청", "", "access"),
        ("", "Please send me a copy of my data.", "access"),
        ("정정 요청", "", "correction"),
        ("", "주소 수정 부탁드립니다", "correction"),
        ("Rectification", "", "correction"),
        ("삭제 요청", "", "deletion"),
        ("", "Please erase everything", "deletion"),
        ("Right to erasure", "", "deletion"),
        ("처리정지", "", "suspension"),
        ("처리 정지 요구", "", "suspension"),
        ("", "please stop processing my data", "suspension"),
        ("동의 철회", "", "consent_withdrawal"),
        ("수신거부", "", "consent_withdrawal"),
        ("수신 거부", "", "consent_withdrawal"),
        ("Unsubscribe", "", "consent_withdrawal"),
        ("", "I want to opt-out", "consent_withdrawal"),
        ("No more marketing", "", "consent_withdrawal"),
        ("회원 탈퇴", "", "membership_withdrawal"),
        ("탈퇴", "", "membership_withdrawal"),
        ("", "close my account", "membership_withdrawal"),
        ("", "I want to withdraw membership", "membership_withdrawal"),
        ("민원", "", "complaint"),
        ("신고합니다", "", "complaint"),
        ("", "I complain", "complaint"),
        ("문의", "", "inquiry"),
        ("A question", "", "inquiry"),
        ("Inquiry", "", "inquiry"),
        ("Hello", "Nice weather", "other"),
        ("", "", "other"),
        # priority / ambiguity: the most specific right wins
        ("회원 탈퇴 및 개인정보 삭제", "", "membership_withdrawal"),
        ("처리정지 및 삭제", "", "suspension"),
        ("마케팅 수신 거부 후 정보 삭제", "", "deletion"),
        ("열람 후 정정 요청", "", "correction"),
        ("열람 관련 문의", "", "access"),
        ("삭제 요청 관련 민원", "", "deletion"),
        ("Accessibility of your website", "", "other"),
        # quoted history is ignored
        ("Re: 확인", "감사합니다.\n> 회원 탈퇴를 요청합니다", "other"),
    ],
)
def test_suggest_request_type(subject: str, body: str, expected: str) -> None:
    result = suggest_request_type(subject, body)
    assert result == expected
    assert result in REQUEST_TYPES


def test_pathological_html_is_bounded() -> None:
    """Thousands of unclosed <div>s make html5ever quadratic: the rich view is dropped."""
    message = b"From: a@example.com\nContent-Type: text/html\n\n" + b"<div>x" * 5000
    parsed = parse_email(message)
    assert parsed.body_html == ""
    assert parsed.body_text.startswith("x\nx")
    assert any("rich view omitted" in w for w in parsed.warnings)
