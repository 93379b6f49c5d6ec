"""Fees and postage (Decree 47) and the case record for the regulator (one PDF per ticket, a ZIP per period)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.models import AuditEvent, FeeQuote, Ticket, User
from notifications.models import StatutoryNotice
from tests.notices.conftest import pdf_text, seoul


def flat(text: str) -> str:
    return "".join(text.split())


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Fees and postage ------------------------------------------------------------------------------
def test_a_fee_is_shown_to_the_requester_before_it_is_incurred_and_lands_everywhere(
        ticket_at: Callable[..., Ticket], admin_user: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access")
    with pytest.raises(services.GuardError) as wrong:
        services.quote_fee(ticket=ticket, actor=admin_user, fee=1000, company_cause=True, basis="정정 오류")
    assert "company_cause" in wrong.value.errors  # Decree 47(2): nothing when the company caused it
    with pytest.raises(services.GuardError) as vague:
        services.quote_fee(ticket=ticket, actor=admin_user, fee=1000, basis="  ")
    assert "basis" in vague.value.errors
    with django_capture_on_commit_callbacks(execute=True):
        services.quote_fee(ticket=ticket, actor=admin_user, fee=2000, postage=3500,
                           basis="사본 인쇄 40쪽 / printing 40 pages")
    [quote_mail] = mail.outbox
    assert "수수료: 2000원" in quote_mail.body and "Postage: KRW 3500" in quote_mail.body
    assert "동의해 주신 뒤에만 발생" in quote_mail.body and "Nothing is incurred until you agree" in quote_mail.body
    assert AuditEvent.objects.filter(ticket=ticket, action="fee.quoted", data__fee=2000).exists()
    # The notice states it.
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="reject", actor=admin_user, reason="no_data_held",
                                   explanation="보유한 정보가 없습니다.")
    notice = StatutoryNotice.objects.get(ticket=ticket)
    with notice.attachment.file.open("rb") as handle:
        text = flat(pdf_text(handle.read()))
    assert flat("수수료 2,000원, 우송료 3,500원 (합계 5,500원)") in text
    assert flat("Fee KRW 2,000, postage KRW 3,500") in text
    # The export has it.
    rows = api(manager).get("/api/v1/exports/tickets/?from=2026-09-01&to=2026-09-30").content.decode("utf-8-sig")
    header, row = rows.splitlines()[:2]
    assert header.endswith("수수료(원),우송료(원),회사 사유(수수료 없음)") and row.endswith(",2000,3500,False")
    # Not after the answer.
    with pytest.raises(services.TransitionNotAllowedError):
        services.quote_fee(ticket=ticket, actor=admin_user, fee=0, basis="late")


def test_no_fee_when_the_company_caused_the_request(ticket_at: Callable[..., Ticket], admin_user: User,
                                                    django_capture_on_commit_callbacks: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="correction")
    client = api(admin_user)
    response = client.post(f"/api/v1/tickets/{ticket.reference}/fee/",
                           {"company_cause": True, "basis": "회사가 잘못 입력한 주소 / we entered the address wrongly"},
                           format="json")
    assert response.status_code == 201, response.json()
    quote = FeeQuote.objects.get(ticket=ticket)
    assert quote.company_cause and quote.total == 0
    bad = client.post(f"/api/v1/tickets/{ticket.reference}/fee/", {"fee": 500, "company_cause": True,
                                                                    "basis": "x"}, format="json")
    assert bad.status_code == 400 and "company_cause" in bad.json()["error"]["fields"]


def test_the_desk_records_a_fee_from_the_ticket_page(ticket_at: Callable[..., Ticket], admin_user: User) -> None:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=admin_user)
    ticket.refresh_from_db()
    desk = Client()
    desk.force_login(admin_user)
    page = desk.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert f"/desk/tickets/{ticket.reference}/fee/" in page and f"/desk/tickets/{ticket.reference}/record.pdf" in page
    response = desk.post(f"/desk/tickets/{ticket.reference}/fee/", {
        "version": ticket.version, "fee": "0", "postage": "4000", "basis": "등기우편 / registered post"})
    assert response.status_code == 302
    assert FeeQuote.objects.get(ticket=ticket).postage == 4000


# --- The case record ---------------------------------------------------------------------------
def _answered_access(ticket_at: Callable[..., Ticket], admin_user: User, capture: Any, at: Any) -> Ticket:
    ticket = ticket_at(seoul(2026, 9, 14, 10), request_type="access",
                       body="제 개인정보 열람을 요청합니다. 고객번호 A-1234.")
    at(seoul(2026, 9, 15, 9))
    with capture(execute=True):
        services.assign_ticket(ticket=ticket, assignee=admin_user, actor=admin_user)
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="id_document",
                                   note="운전면허증 확인")
        record_manual_fulfilment(ticket=ticket, actor=admin_user, reason="CRM에서 직접 내보내 첨부했습니다.")
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="사본 준비")
        services.send_reply(ticket=ticket, author=admin_user, body_text="사본을 첨부합니다.", and_respond=True)
    ticket.refresh_from_db()
    return ticket


def test_the_case_record_states_everything_the_regulator_asks(
        ticket_at: Callable[..., Ticket], admin_user: User, other_admin: User, at: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = _answered_access(ticket_at, admin_user, django_capture_on_commit_callbacks, at)
    response = api(admin_user).get(f"/api/v1/tickets/{ticket.reference}/record.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="{ticket.reference}-case-record.pdf"' in response["Content-Disposition"]
    text = flat(pdf_text(response.content))
    notice = StatutoryNotice.objects.get(ticket=ticket)
    admin_name = str(admin_user)
    for item in (ticket.reference, "고객번호A-1234", "Identitydocumentchecked", "운전면허증확인",
                 "2026-09-1509:00", notice.attachment.filename, notice.sha256[:16], "개인정보열람통지서",
                 "transition.verify", "transition.respond", flat(admin_name), "received→verified", "Notasks",
                 "CRM에서직접내보내첨부했습니다.", "Intact", "기한내처리/Met", "2026-09-2823:59"):  # due after Chuseok
        assert item in text, item
    assert AuditEvent.objects.filter(ticket=ticket, action="record.exported").exists()
    # Only those who may see the ticket get its record.
    assert api(other_admin).get(f"/api/v1/tickets/{ticket.reference}/record.pdf").status_code in (403, 404)


def test_the_case_record_reports_a_tampered_chain_and_a_missed_deadline(
        ticket_at: Callable[..., Ticket], admin_user: User, at: Any) -> None:
    ticket = ticket_at(seoul(2026, 9, 1, 10), request_type="deletion")
    event = AuditEvent.objects.filter(ticket=ticket).order_by("seq").first()
    assert event is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE helpdesk_auditevent DISABLE TRIGGER helpdesk_auditevent_append_only")
        cursor.execute("UPDATE helpdesk_auditevent SET actor_label = %s WHERE id = %s", ["someone else", event.pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE helpdesk_auditevent ENABLE TRIGGER helpdesk_auditevent_append_only")
    at(seoul(2026, 9, 30, 10))
    from helpdesk.case_record import render_record_pdf

    text = flat(pdf_text(render_record_pdf(ticket)))
    assert "문제발견/Problemsfound" in text and flat(f"tampered: {ticket.reference} #{event.seq}") in text
    assert "미처리,기한초과/Openandoverdue" in text


def test_managers_export_a_periods_records_as_one_zip(
        ticket_at: Callable[..., Ticket], admin_user: User, manager: User, at: Any) -> None:
    first = ticket_at(seoul(2026, 9, 14, 10), request_type="access", email="a@example.com")
    second = ticket_at(seoul(2026, 9, 20, 10), request_type="complaint", email="b@example.com")
    ticket_at(seoul(2026, 10, 2, 10), request_type="inquiry", email="c@example.com")  # outside the period
    assert api(admin_user).get("/api/v1/exports/records/?from=2026-09-01&to=2026-09-30").status_code == 403
    response = api(manager).get("/api/v1/exports/records/?from=2026-09-01&to=2026-09-30")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(f"{t.reference}-case-record.pdf" for t in (first, second))
    assert first.reference in pdf_text(archive.read(f"{first.reference}-case-record.pdf"))
    # The dashboard links to it for the period shown, and the link works with the desk's session.
    desk = Client()
    desk.force_login(manager)
    page = desk.get("/desk/dashboard/?from=2026-09-01&to=2026-09-30").content.decode()
    assert "/api/v1/exports/records/?" in page
    link = page.split('href="/api/v1/exports/records/?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    zipped = desk.get(f"/api/v1/exports/records/?{link}")
    assert zipped.status_code == 200 and len(zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()) == 2
