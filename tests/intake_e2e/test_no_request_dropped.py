"""Issue 29, the worst finding: a subject alone never drops mail.

Only RFC 3834 headers, a DSN's structure, list headers and our own mail make mail "automatic"; a
subject that reads like an auto-reply opens a ticket flagged for a person. Automatic mail that
continues no ticket is kept, with its reason, in the quarantine list's "ignored" view.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core import mail

from helpdesk import services
from helpdesk.intake import review
from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome, ingest_message
from helpdesk.models import MessageKind, Quarantine, QuarantineStatus, Ticket

pytestmark = pytest.mark.django_db

REAL_REQUESTS = ("부재중 전화 기록 열람 요청", "ARS 자동응답 통화 녹취 삭제 요청",
                 "Out of office hours call recording: please delete")


def _mail(n: int, subject: str, *, extra: str = "", sender: str = "") -> bytes:
    sender = sender or f"caller{n}@example.net"
    return (f"From: Caller {n} <{sender}>\nTo: micube@micube.co.kr\nSubject: {subject}\n"
            f"Message-ID: <world-{n}@example.net>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\n{extra}MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n지난주 통화 기록을 확인하고 싶습니다.\n").encode()


def _ingest(ingest_path: str, raws: list[bytes]) -> list[Any]:
    if ingest_path == "batch":
        return list(ingest_messages([(raw, f"m{n}") for n, raw in enumerate(raws)]))
    return [ingest_message(raw, source=f"m{n}") for n, raw in enumerate(raws)]


@pytest.fixture(params=["one_at_a_time", "batch"])
def ingest_path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_requests_whose_subject_reads_like_an_auto_reply_become_tickets_flagged_for_review(
        ingest_path: str, make_admin: Any, django_capture_on_commit_callbacks: Any) -> None:
    make_admin("moonwon.park")
    with django_capture_on_commit_callbacks(execute=True):
        results = _ingest(ingest_path, [_mail(n, subject) for n, subject in enumerate(REAL_REQUESTS)])
    assert [r.outcome for r in results] == [Outcome.NEW_TICKET] * 3
    for result, subject in zip(results, REAL_REQUESTS, strict=True):
        ticket = Ticket.objects.get(reference=result.ticket_reference)
        assert ticket.subject == subject
        note = ticket.messages.get(kind=MessageKind.NOTE)
        assert "automatic reply" in note.body_text and "자동 응답(부재중" in note.body_text  # both languages
        assert ticket.audit_events.filter(action="intake.review_flagged", data__reason="autoreply_subject").exists()
    assert Ticket.objects.get(reference=results[0].ticket_reference).suggested_request_type == "access"
    assert Ticket.objects.get(reference=results[1].ticket_reference).suggested_request_type == "deletion"
    assert len(mail.outbox) == 3  # acknowledged like any request: the legal clock runs


def test_a_plain_request_is_not_flagged(ingest_path: str) -> None:
    (result,) = _ingest(ingest_path, [_mail(1, "개인정보 열람 요청")])
    assert result.outcome == Outcome.NEW_TICKET
    assert not Ticket.objects.get(reference=result.ticket_reference).messages.filter(kind=MessageKind.NOTE).exists()


@pytest.mark.parametrize(("header", "reason"), [
    ("Auto-Submitted: auto-replied\n", "auto_submitted"),
    ("X-Autoreply: yes\n", "autoreply_header"),
    ("Precedence: bulk\n", "precedence"),
    ("List-Id: <news.example.net>\n", "mailing_list"),
])
def test_automatic_mail_is_set_aside_with_its_reason_where_staff_can_look(
        ingest_path: str, header: str, reason: str, make_admin: Any) -> None:
    raw = _mail(7, "부재중: 12월 14일까지 휴가입니다", extra=header)
    (result,) = _ingest(ingest_path, [raw])
    assert (result.outcome, result.ticket_reference, result.reason) == (Outcome.IGNORED_AUTO, None, reason)
    kept = Quarantine.objects.get(dedupe_key="sha256:" + hashlib.sha256(raw).hexdigest())
    assert (kept.status, kept.reason, kept.sender) == (QuarantineStatus.IGNORED, reason, "caller7@example.net")
    assert not Ticket.objects.exists()
    # The same bytes again: still set aside, once.
    (again,) = _ingest(ingest_path, [raw])
    assert again.outcome == Outcome.IGNORED_AUTO and Quarantine.objects.count() == 1
    # A person who disagrees opens a ticket from it; the bytes arriving again are then a duplicate.
    admin = make_admin("moonwon.park")
    ticket = services.convert_quarantine_to_ticket(quarantine_pk=kept.pk, actor=admin, request_type="access",
                                                   read_message=review.message_reader())
    (third,) = _ingest(ingest_path, [raw])
    assert (third.outcome, third.ticket_reference) == (Outcome.DUPLICATE, ticket.reference)


def test_the_desk_lists_the_mail_set_aside(client: Any, make_admin: Any) -> None:
    ingest_message(_mail(8, "Re: hello", extra="Auto-Submitted: auto-replied\n"), source="m")
    admin = make_admin("moonwon.park")
    client.force_login(admin)
    page = client.get("/desk/quarantine/", {"status": "ignored"})
    assert page.status_code == 200
    assert b"auto_submitted" in page.content and b"caller8@example.net" in page.content
    assert b"auto_submitted" not in client.get("/desk/quarantine/").content  # not in the review queue
    detail = client.get(f"/desk/quarantine/{Quarantine.objects.get().pk}/")
    assert b'name="request_type"' in detail.content  # a person can still open a ticket from it
