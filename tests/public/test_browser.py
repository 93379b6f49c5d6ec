"""The requester's journey in a real headless Chromium (Playwright) on a phone-sized screen.

Korean, 390×844: fill the Contact Us form (first with mistakes), receive the confirmation mail in a
real SMTP sink (aiosmtpd on loopback), open the link, confirm, see the status page, write a message
with an attachment, withdraw. Screenshots of every page go to artifacts/screenshots/ (and, when
DESK_UPDATE_DOC_SCREENSHOTS=1, to docs/screenshots/ for the README).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from helpdesk.models import AuditEvent, Direction, Ticket
from tests.support.realservices import require

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"requester-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("DESK_UPDATE_DOC_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOC_SHOTS / path.name)


def mail_text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def test_requester_journey_in_korean_on_a_phone(browser: Any, live_server: Any, smtp_sink: Any, settings: Any,
                                                make_admin: Any, public_locale_dir: Any, tmp_path: Path) -> None:
    require(public_locale_dir is not None, "msgfmt (gettext) to compile the Korean catalog")
    settings.DESK_BASE_URL = live_server.url
    make_admin("moonwon.park")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="ko-KR")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.locator("h1").inner_text() == "개인정보 관련 문의하기"
    shot(page, "contact")

    # A first attempt without the required answers: errors next to each field, nothing filed.
    page.click("main button.primary")
    page.wait_for_selector("#form-errors")
    assert page.locator("#id_consent_error").inner_text().startswith("동의하셔야")
    assert page.locator("#id_name").get_attribute("aria-invalid") == "true"
    shot(page, "errors")
    assert Ticket.objects.count() == 0

    page.click("label[for=id_request_type_2]")  # 개인정보 삭제
    page.fill("#id_name", "김민지")
    page.fill("#id_email", "minji@example.com")
    page.fill("#id_phone", "010-1234-5678")
    page.fill("#id_description", "제 개인정보를 모두 삭제해 주세요.\n회원 아이디는 minji 입니다.")
    proof = tmp_path / "요청서.pdf"
    proof.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.set_input_files("#id_attachments", str(proof))
    page.click("label[for=id_under_14_0]")  # 만 14세 이상
    assert not page.locator("#id_guardian_name").is_visible()  # shown only for under-14s
    page.check("#id_consent")
    page.click("main button.primary")
    page.wait_for_url("**/submitted/")
    ticket = Ticket.objects.get()
    assert ticket.reference in page.locator(".reference").inner_text()
    shot(page, "submitted")

    # The acknowledgement and the confirmation link arrive in a real SMTP server.
    mails = smtp_sink.wait_for(2)
    verification = next(m for m in mails if "Confirm your e-mail address" in str(m["Subject"]))
    assert verification["To"] == "minji@example.com"
    body = mail_text(verification)
    assert body.startswith("김민지님, 안녕하세요.")
    confirm_url = re.search(r"https?://\S+/confirm/\S+/", body)
    assert confirm_url is not None and confirm_url.group(0).startswith(live_server.url)

    page.goto(confirm_url.group(0))
    shot(page, "confirm")
    page.click("main button.primary")
    page.wait_for_selector(".panel.success")
    assert "이메일 주소가 확인되었습니다" in page.locator("h1").inner_text()
    shot(page, "confirmed")
    ticket.refresh_from_db()
    assert ticket.state == "verified" and ticket.verification_method == "email_link"

    page.click("a.button.primary")  # 내 요청 보기
    page.wait_for_selector(".status-card")
    assert page.locator(".state-label").inner_text() == "본인 확인 완료"
    assert "일 남음" in page.locator(".days-left").inner_text()
    assert "요청서.pdf" in page.locator(".conversation").inner_text()
    shot(page, "status")

    page.fill("#id_body", "추가로, 마케팅 메일도 더 이상 받지 않게 해 주세요.")
    page.click("main form.stack button.primary")
    page.wait_for_url("**?sent=1#conversation")
    assert "마케팅 메일도" in page.locator(".conversation").inner_text()
    assert Ticket.objects.get(pk=ticket.pk).messages.filter(direction=Direction.INBOUND).count() == 2
    shot(page, "message-sent")

    page.click("a.button.danger-outline")  # 요청 철회하기
    page.wait_for_url("**/withdraw/")
    shot(page, "withdraw")
    page.click("button.danger")  # without ticking the confirmation box: refused, nothing happens
    page.wait_for_selector("#id_confirm_error")
    assert Ticket.objects.get(pk=ticket.pk).state == "verified"
    page.check("#id_confirm")
    page.click("button.danger")
    page.wait_for_url("**?withdrawn=1")
    assert page.locator(".state-label").inner_text() == "철회됨"
    shot(page, "withdrawn")
    ticket.refresh_from_db()
    assert ticket.state == "withdrawn"
    assert AuditEvent.objects.filter(ticket=ticket, action="transition.withdraw").exists()
    # The withdrawal notice went out through the same real SMTP server.
    assert any("withdraw" in mail_text(m).lower() or "철회" in mail_text(m) for m in smtp_sink.wait_for(3)[2:])

    # The language switch keeps the page and shows it in English.
    page.click(".lang-switch button[value=en]")
    page.wait_for_url("**/en/request/**")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator(".state-label").inner_text() == "Withdrawn"
    context.close()


def test_lost_link_page_on_a_phone(browser: Any, live_server: Any, public_locale_dir: Any) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="ko-KR")
    page = context.new_page()
    page.goto(f"{live_server.url}/lost-link/")
    page.fill("#id_email", "nobody@example.com")
    page.click("main form.stack button.primary")
    page.wait_for_selector(".panel.success")
    shot(page, "lost-link")
    page.goto(f"{live_server.url}/en/request/not-a-real-link/")
    assert "This link does not work any more" in page.locator("h1").inner_text()
    shot(page, "link-invalid")
    context.close()
