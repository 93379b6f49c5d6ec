"""The staff intake form in a real headless Chromium against a live server, with a real SMTP sink.

Park Moonwon enters a phone request (a time in the future is refused next to the field, nothing
typed is lost), attaches the scanned form, lands on the ticket whose timeline says "Phone request
entered by Moonwon Park", and records how the acknowledgement was given by phone. A letter with an
e-mail address gets its acknowledgement by real SMTP. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from helpdesk.models import DeliveryStatus, MessageKind, NoticeDelivery, Ticket
from tests.channels.test_staff_intake import PDF, local_input

pytestmark = [pytest.mark.browser, pytest.mark.services]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "x-Very-long-password-1"


def sign_in(browser: Any, base: str, *, width: int = 1366, english: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.goto(f"{base}/desk/login/")
    page.fill("input[name=username]", "moonwon.park")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/desk/**")
    if english:
        page.click(".lang-switch button")
        page.wait_for_url("**/en/desk/**")
    return page


def test_phone_request_entered_in_the_browser(browser: Any, live_server: Any, smtp_sink: Any,
                                              transactional_db: Any, make_admin: Any, tmp_path: Path) -> None:
    make_admin("moonwon.park")
    scan = tmp_path / "request-form.pdf"
    scan.write_bytes(PDF)
    page = sign_in(browser, live_server.url)
    page.click("nav.mainnav >> text=New request")
    page.wait_for_url("**/desk/tickets/new/")
    page.check("input[name=channel][value=phone]")
    page.fill("input[name=received_at]", local_input(timezone.now() + timedelta(days=1)))
    page.fill("input[name=requester_name]", "김철수")
    page.fill("input[name=phone]", "010-1234-5678")
    page.select_option("select[name=request_type]", "deletion")
    page.fill("input[name=subject]", "전화로 받은 삭제 요청")
    page.fill("textarea[name=body_text]", "회원 탈퇴와 개인정보 삭제를 원하신다고 전화하셨습니다.")
    page.set_input_files("input[name=attachments]", str(scan))
    page.click("button[type=submit].primary")
    page.wait_for_selector("#id_received_at-error")
    assert "cannot be in the future" in page.locator("#id_received_at-error").inner_text()
    assert page.input_value("textarea[name=body_text]").startswith("회원 탈퇴와")  # nothing lost
    page.screenshot(path=str(SHOTS / "desk-new-request-error.png"), full_page=True)

    page.fill("input[name=received_at]", local_input(timezone.now() - timedelta(hours=3)))
    page.set_input_files("input[name=attachments]", str(scan))  # browsers never refill a file input
    page.screenshot(path=str(SHOTS / "desk-new-request.png"), full_page=True)
    page.click("button[type=submit].primary")
    page.wait_for_selector(".flash")
    ticket = Ticket.objects.get()
    assert page.url.endswith(f"/desk/tickets/{ticket.reference}/")
    assert "Phone request entered by Moonwon Park" in page.locator(".timeline").inner_text()
    assert "request-form.pdf" in page.locator(".attachments").inner_text()

    page.click("details.notice-give > summary")
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    page.select_option(f"#id_given{ack.pk}_method", "phone")
    page.fill(f"#id_given{ack.pk}_note", "접수 사실과 기한을 전화로 안내")
    page.locator("form.notice-given-form button").click()
    page.wait_for_selector(".notice-given")
    assert "Given by Phone call" in page.locator(".notice-given").inner_text()
    page.screenshot(path=str(SHOTS / "desk-notice-given.png"), full_page=True)
    assert NoticeDelivery.objects.get().given_by.username == "moonwon.park"

    # A letter with an e-mail address: the acknowledgement goes out by real SMTP. On a phone, in Korean.
    phone = sign_in(browser, live_server.url, width=390, english=False)
    phone.goto(f"{live_server.url}/desk/tickets/new/")
    phone.check("input[name=channel][value=letter]")
    phone.fill("input[name=requester_name]", "이서신")
    phone.fill("textarea[name=postal_address]", "서울시 강남구 테헤란로 1")
    phone.fill("input[name=requester_email]", "letter@example.com")
    phone.select_option("select[name=request_type]", "correction")
    phone.fill("input[name=subject]", "서면 정정 요청")
    phone.fill("textarea[name=body_text]", "주소를 고쳐 주세요.")
    phone.screenshot(path=str(SHOTS / "ko-desk-new-request-phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.click("button[type=submit].primary")
    phone.wait_for_selector(".flash")
    letter = Ticket.objects.exclude(pk=ticket.pk).get()
    mail = smtp_sink.wait_for(1)[0]
    assert f"[{letter.reference}]" in mail["Subject"] and smtp_sink.envelopes[0].rcpt_tos == ["letter@example.com"]
    assert letter.messages.get(kind=MessageKind.ACKNOWLEDGEMENT).delivery_status == DeliveryStatus.SENT


def test_representative_request_checked_and_a_participant_added_in_the_browser(
        browser: Any, live_server: Any, smtp_sink: Any, transactional_db: Any, make_admin: Any,
        tmp_path: Path) -> None:
    make_admin("moonwon.park")
    power = tmp_path / "power-of-attorney.pdf"
    power.write_bytes(PDF)
    page = sign_in(browser, live_server.url)
    page.goto(f"{live_server.url}/en/desk/tickets/new/")
    page.check("input[name=channel][value=visit]")
    page.fill("input[name=requester_name]", "최변호")
    page.fill("input[name=requester_email]", "lawyer@example.com")
    page.select_option("select[name=request_type]", "access")
    page.fill("input[name=subject]", "위임받은 열람 요청")
    page.fill("textarea[name=body_text]", "정보주체의 위임을 받아 열람을 요청합니다.")
    page.check("input[name=on_behalf]")
    page.check("input[name=relation][value=delegate]")
    page.fill("input[name=subject_name]", "박정희")
    page.fill("input[name=subject_email]", "subject@example.com")
    page.set_input_files("input[name=power_of_attorney]", str(power))
    page.click("button[type=submit].primary")
    page.wait_for_selector(".flash")
    ticket = Ticket.objects.get()
    assert "Made by a representative" in page.locator("#representation").inner_text()
    page.select_option("#id_authority_check", "power_of_attorney")
    page.select_option("#id_subject_check", "id_document")
    page.fill("#id_check_note", "위임장 서명과 신분증 사본 대조")
    page.click("#representation button[type=submit]")
    page.wait_for_selector("#representation .ok")
    page.click("#participants summary")
    page.fill("#id_participant_email", "paralegal@law.example")
    page.select_option("#id_participant_role", "counsel")
    page.click("#participants details button[type=submit]")
    page.wait_for_selector(".participant-list")
    assert "paralegal@law.example" in page.locator("#participants").inner_text()
    page.screenshot(path=str(SHOTS / "desk-representative-and-participants.png"), full_page=True)
    assert ticket.participants.get().email == "paralegal@law.example"
    rcpts = [env.rcpt_tos for env in smtp_sink.envelopes] if smtp_sink.wait_for(2) else []
    assert ["subject@example.com"] in rcpts and ["lawyer@example.com"] in rcpts
