"""Issue 25 point 12, filed: a mail whose text part has bytes its charset cannot read becomes a ticket
(or a follow-up) with the bad bytes shown as ``\\xNN``, the original part as an attachment byte for
byte, and a bilingual note asking a person to check it — on both intake paths."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome, ingest_message
from helpdesk.models import MessageKind, Ticket

pytestmark = pytest.mark.django_db

TEXT = "개인정보 열람을 요청합니다. 제 주문 내역을 보내 주세요."


def _mail(n: int, data: bytes, *, charset: str = "utf-8", in_reply_to: str = "") -> bytes:
    return (f"From: Hong <hong@example.kr>\nTo: privacy@desk.test\nSubject: request {n}\n"
            f"Message-ID: <damaged-{n}@example.kr>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\n"
            + (f"In-Reply-To: {in_reply_to}\n" if in_reply_to else "")
            + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n'
            f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: base64\n\n").encode() \
        + base64.encodebytes(data) + b"--b--\n"


@pytest.fixture(params=["one_at_a_time", "batch"])
def ingest(request: pytest.FixtureRequest) -> Any:
    def run(raws: list[bytes]) -> list[Any]:
        if request.param == "batch":
            return list(ingest_messages([(raw, f"m{n}") for n, raw in enumerate(raws)]))
        return [ingest_message(raw, source=f"m{n}") for n, raw in enumerate(raws)]
    return run


def test_damaged_text_is_marked_kept_and_noted(ingest: Any, django_capture_on_commit_callbacks: Any) -> None:
    utf8 = TEXT.encode() + b"\xff\xfe" + " 감사합니다".encode()
    euc_kr = "추가 자료입니다".encode("euc-kr") + b"\xff" + " 확인 부탁드립니다".encode("euc-kr")
    clean = "감사합니다".encode()
    with django_capture_on_commit_callbacks(execute=True):
        results = ingest([_mail(1, utf8), _mail(2, euc_kr, charset="euc-kr", in_reply_to="<damaged-1@example.kr>"),
                          _mail(3, clean, in_reply_to="<damaged-1@example.kr>")])
    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.FOLLOW_UP, Outcome.FOLLOW_UP]
    ticket = Ticket.objects.get(reference=results[0].ticket_reference)
    first, second, third = ticket.messages.filter(kind=MessageKind.MAIL).order_by("pk")
    assert first.body_text == TEXT + "\\xff\\xfe 감사합니다"
    assert second.body_text == "추가 자료입니다\\xff 확인 부탁드립니다"
    for message, data in ((first, utf8), (second, euc_kr)):
        (attachment,) = message.attachments.all()
        assert attachment.filename == "original-text-1.txt"
        with attachment.file.open("rb") as handle:
            assert handle.read() == data
    assert not third.attachments.exists() and "\\x" not in third.body_text
    notes = list(ticket.messages.filter(kind=MessageKind.NOTE).order_by("pk"))
    assert len(notes) == 2  # one per damaged mail, none for the clean one
    assert "2 byte(s)" in notes[0].body_text and "utf-8" in notes[0].body_text
    assert "1 byte(s)" in notes[1].body_text and "cp949" in notes[1].body_text
    assert all("original-text-1.txt" in n.body_text and "\\xNN" in n.body_text for n in notes)
    assert all("문자 집합" in n.body_text for n in notes)  # Korean first, then English
    events = ticket.audit_events.filter(action="intake.review_flagged", data__reason="damaged_text")
    assert events.count() == 2
