"""Each statutory notice: attached to the outcome's mail, stored on the ticket, reproducible, and
carrying the items the Decree lists, in Korean and in English (checked in the PDF's extracted text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.services import extend_deadline
from notifications.models import StatutoryNotice
from notifications.notices import render_pdf
from tests.notices.conftest import pdf_text, seoul

OBJECTION = ["이의제기 방법", "How to object", "1833-6972", "118", "개인정보 분쟁조정위원회",
             "Personal Information Dispute Mediation Committee", "privacy.kisa.or.kr", "micube@micube.co.kr"]


def _notice_pdf(ticket: Ticket) -> tuple[StatutoryNotice, bytes, str, Any]:
    """The ticket's latest notice, the PDF the requester was mailed, its text, and that mail."""
    notice = StatutoryNotice.objects.filter(ticket=ticket).latest("id")
    [sent] = [m for m in mail.outbox if notice.attachment.filename in [a[0] for a in m.attachments]]
    [(name, data, content_type)] = [a for a in sent.attachments if a[0] == notice.attachment.filename]
    assert content_type == "application/pdf" and name.endswith(".pdf")
    with notice.attachment.file.open("rb") as stored:
        assert stored.read() == data  # stored on the ticket: the very bytes mailed
    assert render_pdf(notice.inputs) == data  # reproducible from the stored inputs
    return notice, data, pdf_text(data), sent


def _has(text: str, *items: str) -> None:
    # Compared without white space: a table cell wraps its text (and Korean wraps inside words).
    flat = "".join(text.split())
    missing = [item for item in items if "".join(item.split()) not in flat]
    assert not missing, f"missing {missing} in: {text}"


def _processed(ticket: Ticket, admin: User, capture: Any, note: str) -> Ticket:
    with capture(execute=True):
        services.transition_ticket(ticket=ticket, name="verify", actor=admin, verification_method="id_document")
        if ticket.request_type in {"access", "deletion", "membership_withdrawal", "consent_withdrawal"}:
            record_manual_fulfilment(ticket=ticket, actor=admin, reason="담당자가 원본 시스템에서 직접 처리했습니다.")
        services.transition_ticket(ticket=ticket, name="process", actor=admin, note=note)
    ticket.refresh_from_db()
    return ticket


def _respond(ticket: Ticket, admin: User, capture: Any, **data: str) -> None:
    with capture(execute=True):
        services.send_reply(ticket=ticket, author=admin, body_text="처리했습니다. / Done.")
        services.transition_ticket(ticket=ticket, name="respond", actor=admin, **data)


def test_access_granted_names_what_when_and_how(ticket_at: Callable[..., Ticket], admin_user: User,
                                                django_capture_on_commit_callbacks: Any, at: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access")
    ticket = _processed(ticket, admin_user, django_capture_on_commit_callbacks, "열람 자료 준비")
    at(seoul(2026, 9, 16, 15))
    _respond(ticket, admin_user, django_capture_on_commit_callbacks)
    notice, _data, text, sent = _notice_pdf(ticket)
    assert notice.kind == "access_granted" and notice.message.kind == "notice"
    assert sent.to == ["requester@example.com"] and "개인정보 열람 통지서" in sent.subject
    _has(text, "개인정보 열람 통지서", "Notice of Access to Personal Information", ticket.reference,
         "열람할 개인정보", "Personal information you may access", "열람 가능 일시", "When you may access it",
         "열람 장소 및 방법", "Where and how", "2026년 9월 14일", "14 September 2026",
         "시행령 제41조제5항", "Enforcement Decree Art. 41(5)", "2026년 9월 16일", *OBJECTION)
    assert AuditEvent.objects.filter(ticket=ticket, action="notice.given", data__kind="access_granted").exists()


def test_access_partly_given_names_what_is_withheld_and_why(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access")
    ticket = _processed(ticket, admin_user, django_capture_on_commit_callbacks, "열람 자료 준비")
    with pytest.raises(services.GuardError) as half:
        services.transition_ticket(ticket=ticket, name="respond", actor=admin_user, withheld="상담 메모")
    assert "withheld_reason" in half.value.errors
    _respond(ticket, admin_user, django_capture_on_commit_callbacks,
             withheld="다른 고객이 언급된 상담 메모 / call notes naming another customer",
             withheld_reason="third_party_harm")
    notice, _data, text, _sent = _notice_pdf(ticket)
    assert notice.kind == "access_partial"
    _has(text, "일부 열람", "partial access", "열람이 제한되는 사항", "What is withheld",
         "call notes naming another customer", "제35조제4항제2호", "PIPA Art. 35(4)2",
         "Enforcement Decree Art. 41(5), 42(1)", *OBJECTION)


def test_access_refused_gives_reason_ground_and_objection(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access")
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="reject", actor=admin_user, reason="required_by_law",
                                   explanation="수사기관의 요청으로 열람이 제한됩니다.")
    notice, _data, text, sent = _notice_pdf(ticket)
    assert notice.kind == "access_refused" and notice.message.kind == "reply"
    assert "수사기관의 요청으로" in sent.body  # the refusal mail itself carries the PDF
    _has(text, "개인정보 열람 거절 통지서", "Notice of Refused Access", "사유", "Reason", "법적 근거", "Legal ground",
         "제35조제4항제1호", "PIPA Art. 35(4)1", "수사기관의 요청으로 열람이 제한됩니다.",
         "시행령 제42조제2항", "Enforcement Decree Art. 42(2)", *OBJECTION)


def test_access_postponed_gives_reason_new_date_and_objection(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any, at: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10), request_type="access")  # due Mon 21 Sep
    at(seoul(2026, 9, 17, 10))
    with django_capture_on_commit_callbacks(execute=True):
        extend_deadline(ticket=ticket, actor=admin_user, reason="자료가 여러 시스템에 흩어져 있습니다.")
    notice, _data, text, sent = _notice_pdf(ticket)
    assert notice.kind == "access_postponed"
    assert "이의가 있으시면" in sent.body and "If you object to this extension" in sent.body  # the mail's own line
    _has(text, "개인정보 열람 연기 통지서", "Notice of Postponed Access", "자료가 여러 시스템에 흩어져 있습니다.",
         "열람 예정일", "Access by", "2026년 10월 1일", "1 October 2026", "시행령 제42조제2항",
         "Enforcement Decree Art. 42(2)", *OBJECTION)


def test_extension_of_other_requests_gets_the_extension_notice(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any, at: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10), request_type="complaint")
    at(seoul(2026, 9, 17, 10))
    with django_capture_on_commit_callbacks(execute=True):
        extend_deadline(ticket=ticket, actor=admin_user, reason="Several departments must answer.")
    notice, _data, text, _sent = _notice_pdf(ticket)
    assert notice.kind == "extension"
    _has(text, "처리 기한 연장 통지서", "Notice of Extended Deadline", "기존 처리 기한", "Previous deadline",
         "2026년 9월 21일", "21 September 2026", "연장된 처리 기한", "New deadline", "1 October 2026",
         "Several departments must answer.", "PIPA Art. 35(3)", *OBJECTION)


@pytest.mark.parametrize(("request_type", "kind", "title_ko", "title_en", "articles"), [
    ("deletion", "correction_deletion_done", "개인정보 정정·삭제 결과 통지서", "Result of Correction or Deletion",
     ["시행령 제43조제3항", "Enforcement Decree Art. 43(3)"]),
    ("correction", "correction_deletion_done", "개인정보 정정·삭제 결과 통지서", "Result of Correction or Deletion",
     ["시행령 제43조제3항", "Enforcement Decree Art. 43(3)"]),
    ("suspension", "suspension_done", "개인정보 처리정지 요구에 대한 결과 통지서", "Request to Suspend Processing",
     ["시행령 제44조제2항", "Enforcement Decree Art. 44(2)"]),
    ("automated_review", "automated_done", "자동화된 결정에 대한 거부·설명등요구 결과 통지서",
     "Request about an Automated Decision", ["시행령 제44조의3", "Enforcement Decree Art. 44-3"]),
])
def test_done_notices_say_what_was_done_and_when(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any, at: Any,
        request_type: str, kind: str, title_ko: str, title_en: str, articles: list[str]) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type=request_type)
    at(seoul(2026, 9, 15, 11))
    ticket = _processed(ticket, admin_user, django_capture_on_commit_callbacks,
                        "CRM의 주소를 고쳤습니다 / fixed the address in the CRM")
    _respond(ticket, admin_user, django_capture_on_commit_callbacks)
    notice, _data, text, _sent = _notice_pdf(ticket)
    assert notice.kind == kind
    _has(text, title_ko, title_en, "조치 내용", "What was done", "fixed the address in the CRM", "조치일", "Done on",
         "2026년 9월 15일", "15 September 2026", *articles, *OBJECTION)


@pytest.mark.parametrize(("request_type", "reason", "kind", "items"), [
    ("deletion", "required_by_law", "correction_deletion_refused",
     ["요구 불이행", "not carried out", "제36조제1항 단서", "PIPA Art. 36(1) proviso",
      "Enforcement Decree Art. 43(3)"]),
    ("suspension", "contract_performance", "suspension_refused",
     ["요구 거절", "refused", "제37조제2항제4호", "PIPA Art. 37(2)4", "Enforcement Decree Art. 44(2)"]),
    ("consent_withdrawal", "required_by_law", "suspension_refused",
     ["제37조제2항제1호", "PIPA Art. 37(2)1"]),
    ("automated_refusal", "third_party_harm", "automated_refused",
     ["거부·설명등요구 거절 통지서", "Refusal of a Request about an Automated Decision", "제44조의3제4항",
      "Enforcement Decree Art. 44-3(4)"]),
])
def test_refusal_notices_give_the_reason_and_its_article(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any,
        request_type: str, reason: str, kind: str, items: list[str]) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type=request_type)
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="reject", actor=admin_user, reason=reason,
                                   explanation="법령상 보존 의무 / kept by law")
    notice, _data, text, _sent = _notice_pdf(ticket)
    assert notice.kind == kind
    _has(text, "사유", "Reason", "법적 근거", "Legal ground", "kept by law", *items, *OBJECTION)


def test_complaints_and_inquiries_get_no_statutory_result_notice(
        ticket_at: Callable[..., Ticket], admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="inquiry")
    ticket = _processed(ticket, admin_user, django_capture_on_commit_callbacks, "답변 준비")
    _respond(ticket, admin_user, django_capture_on_commit_callbacks)
    assert not StatutoryNotice.objects.filter(ticket=ticket).exists()
    assert all(not m.attachments for m in mail.outbox)


def test_a_notice_given_by_post_is_kept_on_the_ticket_with_how_it_was_given(
        ticket_at: Callable[..., Ticket], admin_user: User) -> None:
    from helpdesk.services.notices import record_notice_given
    from notifications.notices import notice_inputs

    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="suspension")
    inputs = notice_inputs(ticket, "suspension_done", issued_at=seoul(2026, 9, 16, 10), action="우편 신청 처리",
                           done_on="2026-09-16")
    notice = record_notice_given(ticket=ticket, kind="suspension_done", inputs=inputs, delivery="post",
                                 actor=admin_user)
    assert notice.delivery == "post" and notice.message.direction == "note" and mail.outbox == []
    with notice.attachment.file.open("rb") as handle:
        data = handle.read()
    assert data == render_pdf(inputs)
    _has(pdf_text(data), "처리정지 요구에 대한 결과 통지서", "우편 신청 처리", *OBJECTION)
    assert AuditEvent.objects.filter(ticket=ticket, action="notice.given", data__delivery="post").exists()
