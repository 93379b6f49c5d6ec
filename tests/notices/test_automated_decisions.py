"""Automated decisions (PIPA Art. 37-2; Enforcement Decree Art. 44-2 - 44-4): three request types,
each with its own 30-day clock on the legal calendar and up to two 30-day extensions with notice;
offered on the form, suggested from mail, listed by the API and counted in the figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from helpdesk import services
from helpdesk.intake.email.classify import suggest_request_type
from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.public.forms import request_type_choices
from helpdesk.services import extend_deadline
from notifications.models import StatutoryNotice
from tests.notices.conftest import pdf_text, seoul

AUTOMATED = ("automated_refusal", "automated_explanation", "automated_review")


@pytest.mark.parametrize("request_type", AUTOMATED)
def test_each_right_has_a_30_day_clock_and_two_30_day_extensions_with_notice(
        request_type: str, ticket_at: Callable[..., Ticket], admin_user: User, at: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    # Fri 4 Sep 2026 + 30 days = Sun 4 Oct; Mon 5 Oct is the substitute holiday for National
    # Foundation Day (Sat 3 Oct), so the period ends on Tue 6 Oct (Civil Act Art. 161).
    ticket = ticket_at(seoul(2026, 9, 4, 10), request_type=request_type)
    assert ticket.due_at == seoul(2026, 10, 6, 23, 59, 59)
    at(seoul(2026, 9, 30, 10))
    with django_capture_on_commit_callbacks(execute=True):
        extend_deadline(ticket=ticket, actor=admin_user, reason="외부 평가 모델 공급사의 자료가 필요합니다.")
    ticket.refresh_from_db()
    assert ticket.due_at == seoul(2026, 11, 5, 23, 59, 59)  # Tue 6 Oct + 30 = Thu 5 Nov, a working day
    at(seoul(2026, 11, 2, 10))
    with django_capture_on_commit_callbacks(execute=True):
        extend_deadline(ticket=ticket, actor=admin_user, reason="Human review panel meets in December.")
    ticket.refresh_from_db()
    assert ticket.due_at == seoul(2026, 12, 7, 23, 59, 59)  # Thu 5 Nov + 30 = Sat 5 Dec -> Mon 7 Dec
    with pytest.raises(services.GuardError):  # "2회에 한정하여": a third extension is refused
        extend_deadline(ticket=ticket, actor=admin_user, reason="once more")
    notices = list(StatutoryNotice.objects.filter(ticket=ticket).order_by("id"))
    assert [n.kind for n in notices] == ["extension", "extension"]
    assert len([m for m in mail.outbox if m.attachments]) == 2
    text = "".join(pdf_text(mail.outbox[-1].attachments[0][1]).split())
    for item in ("처리기한연장통지서", "2026년12월7일", "7December2026", "HumanreviewpanelmeetsinDecember.",
                 "시행령제44조의3제5항단서", "EnforcementDecreeArt.44-3(5)proviso", "1833-6972", "118"):
        assert item in text
    assert AuditEvent.objects.filter(ticket=ticket, action="sla.extended").count() == 2


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("자동화된 결정 거부", "AI 심사로 대출이 거절되었습니다. 자동화된 결정을 적용하지 않기를 원합니다.",
     "automated_refusal"),
    ("채용 결과 문의", "인공지능이 판단한 서류 심사 결과의 기준과 처리 과정을 설명해 주세요.", "automated_explanation"),
    ("자동 심사 재검토", "자동화된 결정에 제 추가 자료를 반영하여 재검토해 주시기 바랍니다.", "automated_review"),
    ("Automated decision", "I object to the automated decision and want a human decision.", "automated_refusal"),
    ("Why was I rejected?", "Please explain the automated decision on my application.", "automated_explanation"),
    ("Re: automated decision", "Please reconsider the automated decision with the additional information attached.",
     "automated_review"),
    ("개인정보 열람", "제 정보를 보여 주세요.", "access"),  # no automated decision named: the other rules apply
])
def test_mail_naming_an_automated_decision_suggests_the_right_it_asks_for(subject: str, body: str,
                                                                         expected: str) -> None:
    assert suggest_request_type(subject, body) == expected


def test_form_api_and_figures_know_the_three_rights(make_ticket: Callable[..., Ticket], manager: User) -> None:
    offered = [value for value, _label in request_type_choices()]
    assert set(AUTOMATED) <= set(offered)
    for request_type in AUTOMATED:
        make_ticket(request_type=request_type, email=f"{request_type}@example.com")
    client = APIClient()
    client.force_authenticate(manager)
    types = {row["value"]: row for row in client.get("/api/v1/request-types/").json()}
    assert set(AUTOMATED) <= set(types)
    assert types["automated_refusal"]["label"] == "자동화된 결정의 거부"  # Korean by default
    figures = client.get("/api/v1/metrics/response-times/").json()
    counted = {row["request_type"]: row["received"] for row in figures["by_request_type"]}
    assert all(counted.get(t) == 1 for t in AUTOMATED)
    created = client.post("/api/v1/tickets/", {"subject": "자동화된 결정 설명 요구", "requester_email": "x@example.com",
                                               "request_type": "automated_explanation",
                                               "body_text": "설명해 주세요."}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["request_type"] == "automated_explanation"
