"""Issue 29: the world's mail. One test mail per class of damage found on public test corpora,
built here from real bytes in the charsets named (no fixture files, nothing mocked)."""

from __future__ import annotations

import base64
import email
import email.policy

import pytest

from helpdesk.intake.email import parse_email
from helpdesk.intake.email.decoding import decode_bytes, decode_header_value
from helpdesk.intake.email.guess import best_decoding

HEAD = b"To: micube@micube.co.kr\nDate: Mon, 07 Dec 2026 10:00:00 +0900\nMIME-Version: 1.0\n"


def _mail(*headers: bytes, body: bytes, ctype: bytes = b"text/plain", extra: bytes = b"") -> bytes:
    return b"".join(h + b"\n" for h in headers) + HEAD + b"Content-Type: " + ctype + b"\n" + extra + b"\n" + body


# --- 1. Latin-1 text is not read as Hangul because one byte pair happens to be valid CP949 ------------
@pytest.mark.parametrize("text", ["BÄKO GmbH", "Ärger mit der Rechnung", "Æble og Ærø", "Ôtez mes données"])
def test_latin1_text_with_a_cp949_valid_pair_stays_latin(text: str) -> None:
    raw = _mail(b"From: " + text.encode("latin-1") + b" <k@example.de>", b"Subject: " + text.encode("latin-1"),
                body=text.encode("latin-1") + b"\n", ctype=b"text/plain; charset=iso-8859-1")
    parsed = parse_email(raw)
    assert (parsed.body_text, parsed.subject, parsed.sender_name) == (text, text, text)
    assert decode_bytes(text.encode("latin-1"), "iso-8859-1") == text
    assert decode_header_value(b"=?ISO-8859-1?B?" + base64.b64encode(text.encode("latin-1")) + b"?=") == text


def test_korean_mislabelled_as_latin1_is_still_read_as_korean() -> None:
    """Strong evidence (several common syllables, better words than the Latin reading) still wins."""
    text = "개인정보 열람을 요청합니다"
    assert decode_bytes(text.encode("cp949"), "iso-8859-1") == text


# --- 2. Undeclared 8-bit text: hints, then the most plausible reading; CP949 only when Korean -----------
@pytest.mark.parametrize(("text", "codec", "declared_body"), [
    ("тест", "koi8_r", "koi8-r"),
    ("机房环境", "gbk", "gb2312"),
    ("김철수", "cp949", "euc-kr"),
])
def test_raw_8bit_subject_and_name_use_the_charset_the_body_declares(text: str, codec: str, declared_body: str) -> None:
    body = f"{text} — {text}\n".encode(codec, "replace")
    raw = _mail(b"From: " + text.encode(codec) + b" <sender@example.org>", b"Subject: " + text.encode(codec),
                body=body, ctype=b"text/plain; charset=" + declared_body.encode())
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.sender_name) == (text, text)
    assert parsed.body_text.startswith(text)


@pytest.mark.parametrize(("subject", "body", "codec"), [
    ("тест", "Здравствуйте, прошу удалить мои персональные данные из вашей базы.", "koi8_r"),
    ("机房环境", "您好，请删除我在贵公司系统中的个人信息。谢谢。", "gbk"),
    ("개인정보 삭제", "안녕하세요. 제 개인정보를 삭제해 주시기 바랍니다.", "cp949"),
])
def test_wholly_undeclared_mail_is_read_from_all_its_text(subject: str, body: str, codec: str) -> None:
    """No charset anywhere: the whole text decides, and the subject, name and body agree."""
    raw = _mail(b"From: " + subject.encode(codec) + b" <sender@example.org>", b"Subject: " + subject.encode(codec),
                body=body.encode(codec) + b"\n")
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.sender_name, parsed.body_text) == (subject, subject, body)


@pytest.mark.parametrize(("text", "codec"), [
    ("Здравствуйте, удалите мои данные", "koi8_r"), ("Привет мир", "cp1251"), ("机房环境服务器维护通知", "gbk"),
    ("個人情報の削除をお願いします", "cp932"), ("個人資料刪除請求", "big5"), ("개인정보 열람 요청", "cp949"),
    ("Frösche", "cp1252"), ("Formação", "cp1252"), ("Håvard", "cp1252"), ("À l’été, très élevé", "cp1252"),
])
def test_the_most_plausible_reading_of_undeclared_bytes(text: str, codec: str) -> None:
    found = best_decoding(text.encode(codec))
    assert found is not None and found[1] == text


# --- 3. Short headers fall back to the declared charsets and UTF-8/Windows-1252, not exotic codecs -------
@pytest.mark.parametrize("name", ["Frösche", "Formação", "Håvard", "Søren Ærø"])
def test_short_raw_latin_headers_are_not_guessed_into_odd_codecs(name: str) -> None:
    raw = _mail(b"From: " + name.encode("cp1252") + b" <p@example.eu>", b"Subject: " + name.encode("cp1252"),
                body=b"plain ascii body\n")
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.sender_name) == (name, name)
    # ... and with the message's own charset declared on the body (ISO-8859-2 here):
    raw2 = _mail(b"From: P <p@example.pl>", b"Subject: " + "Łódź żółć".encode("iso8859_2"),
                 body="Łódź żółć\n".encode("iso8859_2"), ctype=b"text/plain; charset=iso-8859-2")
    assert parse_email(raw2).subject == "Łódź żółć"


# --- 4. Raw 8-bit attachment names are read from the header bytes, not the stdlib's U+FFFD -------------
@pytest.mark.parametrize(("name", "codec", "declared"), [
    ("Паспорт.pdf", "koi8_r", "koi8-r"), ("身份证.pdf", "gbk", "gb2312"),
    ("Bestätigung.pdf", "cp1252", "iso-8859-1"), ("신분증 사본.pdf", "cp949", "euc-kr"),
    ("신분증.pdf", "utf-8", "utf-8"),
])
def test_raw_8bit_attachment_names_survive(name: str, codec: str, declared: str) -> None:
    encoded = name.encode(codec)
    raw = _mail(b"From: A <a@example.org>", b"Subject: id", ctype=b'multipart/mixed; boundary="b"', body=(
        b"--b\nContent-Type: text/plain; charset=" + declared.encode() + b"\n\nattached\n"
        b'--b\nContent-Type: application/pdf; name="' + encoded + b'"\n'
        b'Content-Disposition: attachment; filename="' + encoded + b'"\nContent-Transfer-Encoding: base64\n\n'
        b"JVBERi0xLjQKJSVFT0YK\n--b--\n"))
    (attachment,) = parse_email(raw).attachments
    assert attachment.filename == name
    assert "\ufffd" not in attachment.filename


# --- 5. An empty text/plain alternative does not hide the HTML body ----------------------------------
def test_an_empty_plain_alternative_gives_way_to_the_html() -> None:
    raw = _mail(b"From: A <a@example.org>", b"Subject: =?UTF-8?B?" + base64.b64encode("요청".encode()) + b"?=",
                ctype=b'multipart/alternative; boundary="alt"', body=(
                    b"--alt\nContent-Type: text/plain; charset=utf-8\n\n\n"
                    b"--alt\nContent-Type: text/html; charset=utf-8\n\n"
                    + "<p>제 개인정보를 <b>삭제</b>해 주세요.</p>".encode() + b"\n--alt--\n"))
    parsed = parse_email(raw)
    assert parsed.body_text == "제 개인정보를 삭제해 주세요."
    assert (parsed.suggested_request_type, parsed.language) == ("deletion", "ko")


# --- 6. A forwarded mail attached as base64 message/rfc822 ------------------------------------------
def test_a_base64_forwarded_mail_is_decoded_kept_as_eml_and_shown() -> None:
    inner = ("From: 김민지 <minji@example.kr>\nSubject: 개인정보 열람 요청\nMessage-ID: <inner@example.kr>\n"
             "Content-Type: text/plain; charset=utf-8\n\n제 정보 열람을 요청합니다.\n").encode()
    raw = _mail(b"From: Forwarder <fw@example.org>", b"Subject: Fwd: request", ctype=b'multipart/mixed; boundary="m"',
                body=b"--m\nContent-Type: text/plain\n\nForwarding this.\n--m\nContent-Type: message/rfc822\n"
                     b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(inner) + b"--m--\n")
    parsed = parse_email(raw)
    assert "제 정보 열람을 요청합니다." in parsed.body_text and "Subject: 개인정보 열람 요청" in parsed.body_text
    assert "RnJvbT" not in parsed.body_text  # no raw base64
    (attachment,) = parsed.attachments
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "개인정보 열람 요청.eml", "message/rfc822", inner)


# --- 7. ISO-2022-JP with NEC / Microsoft extensions -----------------------------------------------
def test_iso2022jp_with_nec_extensions_falls_back_to_cp932() -> None:
    text = "①会議室の予約 ㈱テスト Ⅲ"
    # What Outlook sends (cp50220): cp932's extension rows written as JIS X 0208 pairs.
    sjis = text.encode("cp932")
    jis = bytearray(b"")
    i = 0
    mode = "ascii"
    while i < len(sjis):
        b1 = sjis[i]
        if b1 < 0x80:
            if mode != "ascii":
                jis += b"\x1b(B"
                mode = "ascii"
            jis.append(b1)
            i += 1
            continue
        b2 = sjis[i + 1]
        if mode != "jis":
            jis += b"\x1b$B"
            mode = "jis"
        j1 = (b1 - (0x70 if b1 < 0xA0 else 0xB0)) * 2 - (1 if b2 < 0x9F else 0)
        j2 = b2 - (0x1F if b2 < 0x7F else 0x20) if b2 < 0x9F else b2 - 0x7E
        jis += bytes((j1, j2))
        i += 2
    jis += b"\x1b(B"
    with pytest.raises(UnicodeDecodeError):
        bytes(jis).decode("iso2022_jp")
    raw = _mail(b"From: J <j@example.jp>", b"Subject: =?ISO-2022-JP?B?" + base64.b64encode(bytes(jis)) + b"?=",
                body=bytes(jis) + b"\n", ctype=b"text/plain; charset=ISO-2022-JP")
    parsed = parse_email(raw)
    assert parsed.subject == text and parsed.body_text == text
    assert "\x1b" not in parsed.subject + parsed.body_text


# --- 8. A banner line or one broken header line does not lose the From --------------------------------
@pytest.mark.parametrize("head", [
    b"Gateway scanned this message\nFrom: Anna Berg <anna@example.se>\nSubject: Delete my data\n",
    b"From anna@example.se Mon Dec  7 10:00:00 2026\nFrom: Anna Berg <anna@example.se>\nSubject: Delete my data\n",
    b"Received: from relay by mx;\nbroken continuation without indentation\nFrom: Anna Berg <anna@example.se>\n"
    b"Subject: Delete my data\n",
])
def test_a_broken_header_block_is_read_leniently(head: bytes) -> None:
    raw = head + HEAD + b"Content-Type: text/plain; charset=utf-8\n\nPlease delete my data.\n"
    parsed = parse_email(raw)
    assert (parsed.sender_email, parsed.sender_name, parsed.subject) == ("anna@example.se", "Anna Berg",
                                                                         "Delete my data")
    assert parsed.body_text == "Please delete my data."


# --- 9. A multipart boundary that is never found -------------------------------------------------------
def test_a_boundary_folded_inside_its_quotes_is_unfolded() -> None:
    raw = (b"From: A <a@example.org>\nSubject: s\n" + HEAD + b'Content-Type: multipart/mixed; boundary="abc\n def"\n\n'
           b"--abc def\nContent-Type: text/plain; charset=utf-8\n\n" + "본문입니다".encode() + b"\n--abc def--\n")
    assert parse_email(raw).body_text == "본문입니다"


def test_a_boundary_never_found_keeps_the_raw_text() -> None:
    raw = (b"From: A <a@example.org>\nSubject: s\n" + HEAD + b'Content-Type: multipart/mixed; boundary="nowhere"\n\n'
           b"--elsewhere\nContent-Type: text/plain\n\nPlease delete my account.\n--elsewhere--\n")
    parsed = parse_email(raw)
    assert "Please delete my account." in parsed.body_text
    assert any("boundary" in warning for warning in parsed.warnings)


# --- 10. Mails without a Message-ID are told apart by everything that makes them distinct --------------
def _no_mid(subject: bytes, body: bytes = b"", attachment: bytes | None = None) -> bytes:
    if attachment is None:
        return _mail(b"From: A <a@example.org>", b"Subject: " + subject, body=body)
    return _mail(b"From: A <a@example.org>", b"Subject: " + subject, ctype=b'multipart/mixed; boundary="b"', body=(
        b"--b\nContent-Type: text/plain\n\n" + body + b"\n--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename=a.pdf\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode(attachment) + b"\n--b--\n"))


def test_the_digest_covers_subject_and_attachments() -> None:
    keys = {parse_email(raw).dedupe_key for raw in (
        _no_mid(b"Access request"), _no_mid(b"Deletion request"),
        _no_mid(b"Files", attachment=b"%PDF-1.4 one"), _no_mid(b"Files", attachment=b"%PDF-1.4 two"))}
    assert len(keys) == 4
    assert parse_email(_no_mid(b"Access request")).dedupe_key == parse_email(_no_mid(b"Access request")).dedupe_key


# --- The common case stays cheap: ASCII and declared UTF-8 never reach the guessing ----------------------
def test_ascii_and_utf8_never_reach_the_guessing(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk.intake.email import decoding, lenient

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("guessing ran on ASCII/UTF-8 mail")

    monkeypatch.setattr(decoding, "best_decoding", refuse)
    monkeypatch.setattr(lenient, "best_decoding", refuse)
    monkeypatch.setattr(lenient, "message_hints", refuse)  # not even the message's charsets are gathered
    raw = _mail(b"From: =?UTF-8?B?" + base64.b64encode("김민지".encode()) + b"?= <m@example.kr>",
                b"Subject: " + "개인정보 열람".encode(), body="본문 UTF-8\n".encode(),
                ctype=b"text/plain; charset=utf-8")
    parsed = parse_email(raw)
    assert (parsed.sender_name, parsed.subject) == ("김민지", "개인정보 열람")
    assert email.message_from_bytes(raw, policy=email.policy.compat32) is not None
