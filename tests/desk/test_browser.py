"""The desk in a real headless Chromium (Playwright) against a live server, with a real SMTP sink.

An administrator signs in, opens a ticket from "Due within 3 days", verifies, processes, replies
with a response template and marks it responded in one step; the reply reaches the SMTP sink with
its threading headers. Meanwhile a manager working on the same ticket in a second browser gets the
clear conflict message, and keeps what they typed. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from helpdesk import services
from helpdesk.models import Channel, Message, Ticket
from notifications.models import ResponseTemplate
from workflows.states import TicketState as S

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "x-Very-long-password-1"


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"desk-{name}.png"), full_page=full_page)


def sign_in(browser: Any, base: str, username: str, *, english: bool = True) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="ko-KR")
    page = context.new_page()
    page.goto(f"{base}/desk/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if username == "moonwon.park":
        shot(page, "login", full_page=False)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/desk/**")
    assert "login" not in page.url
    if english:
        page.click(".lang-switch button")  # 한국어 → English
        page.wait_for_url("**/en/desk/**")
    return page


@pytest.fixture
def desk_data(transactional_db: Any, make_admin: Any, manager: Any) -> dict[str, Any]:
    admin = make_admin("moonwon.park")
    make_admin("hyojoon.shim", is_away=True)
    ticket = services.create_ticket(
        message=services.InboundMessage(
            sender_email="hong@example.com", sender_name="홍길동", subject="개인정보 열람 요청",
            body_text="안녕하세요. 제 개인정보 처리 내역 열람을 요청합니다.\n회원 ID: hong123",
            message_id="request-1@mail.example.com",
        ),
        channel=Channel.EMAIL, request_type="access", acknowledge=False,
    )
    assert ticket.assignee == admin
    Ticket.objects.filter(pk=ticket.pk).update(due_at=timezone.now() + timedelta(days=2))
    for i in range(6):  # some company in the queues
        services.create_ticket(
            message=services.InboundMessage(sender_email=f"user{i}@example.com", subject=f"문의 {i}",
                                            body_text="..."),
            channel=Channel.WEB, request_type=["inquiry", "deletion", "complaint"][i % 3], acknowledge=False)
    ResponseTemplate.objects.create(
        name="Access: data provided",
        body_ko="{name}님, 안녕하세요.\n요청하신 {reference} 건의 개인정보 열람 결과를 보내드립니다.",
        body_en="Dear {name},\nHere is the personal information we hold about you ({reference}).",
    )
    services.quarantine_message(
        raw_message=b"From: =?utf-8?q?bad?= <noreply@spam.example>\r\nSubject: WIN a prize <script>x</script>\r\n"
                    b"Content-Type: multipart/mixed\r\n\r\n\xff\xfe broken body",
        dedupe_key="sha256:browser-test", reason="unparseable", detail="multipart without a boundary",
        sender="noreply@spam.example", subject="WIN a prize <script>x</script>")
    return {"ticket": Ticket.objects.get(pk=ticket.pk), "admin": admin, "manager": manager}


def test_administrator_works_a_ticket_and_a_manager_gets_a_conflict(
        browser: Any, live_server: Any, smtp_sink: Any, desk_data: Any) -> None:
    ticket: Ticket = desk_data["ticket"]
    base = live_server.url

    admin = sign_in(browser, base, "moonwon.park")
    admin.click("nav.queues >> text=Due within 3 days")
    admin.wait_for_url("**/queues/due-soon/")
    assert admin.locator("table.tickets").inner_text().count("PRIV-") == 1
    shot(admin, "queue")
    admin.click(f"text={ticket.reference}")
    admin.wait_for_url(f"**/tickets/{ticket.reference}/")
    assert "KST" in admin.locator(".deadline").inner_text()
    shot(admin, "ticket")

    # The manager opens the same ticket at the same time and starts typing a reply.
    manager = sign_in(browser, base, "manager")
    manager.goto(f"{base}/en/desk/tickets/{ticket.reference}/")
    manager.fill("#reply-form textarea", "Manager's draft answer that must not be lost")

    # The administrator verifies identity (the form asks how) and marks it processed (asks what was done).
    admin.click("details.action-verify > summary")
    admin.select_option("select[name=verify-verification_method]", "id_document")
    admin.fill("textarea[name=verify-note]", "Passport checked by video call")
    admin.click("details.action-verify button[type=submit]")
    admin.wait_for_selector(".flash")
    assert "Identity verified" in admin.locator(".ticket-head .badge").inner_text()

    # Now the manager submits with the version they loaded: a clear conflict, their text kept.
    manager.click("#reply-form button[name=and_respond][value='0']")
    manager.wait_for_selector("#conflict")
    assert "Someone else changed this ticket" in manager.locator("#conflict").inner_text()
    assert manager.input_value("#reply-form textarea") == "Manager's draft answer that must not be lost"
    assert "Identity verified" in manager.locator(".ticket-head .badge").inner_text()  # their change shown
    shot(manager, "conflict")
    assert not Message.objects.filter(body_text__startswith="Manager's draft").exists()

    # Managers get the Dashboard link in the desk's navigation (administrators do not).
    assert admin.locator("nav.mainnav >> text=Dashboard").count() == 0
    manager.click("nav.mainnav >> text=Dashboard")
    manager.wait_for_url("**/desk/dashboard/")

    # An access request: no data sources in this test, so the administrator records the manual work.
    admin.click("#fulfilment details > summary")
    admin.fill("#manual-reason", "Exported the member record and access log from the legacy ERP")
    admin.click("#fulfilment details button[type=submit]")
    admin.wait_for_selector(".flash")
    admin.click("details.action-process > summary")
    admin.fill("textarea[name=process-note]", "Exported the member record and access log")
    admin.click("details.action-process button[type=submit]")
    admin.wait_for_selector(".flash")

    # Reply with a template (filled in server-side, picked with JavaScript) and mark responded.
    admin.select_option("#template-select", label="Access: data provided (English)")
    body = admin.input_value("#reply-form textarea")
    assert body.startswith("Dear 홍길동,") and ticket.reference in body
    shot(admin, "reply")
    admin.click("#reply-form button[name=and_respond][value='1']")
    admin.wait_for_selector(".flash")
    assert "Responded" in admin.locator(".ticket-head .badge").inner_text()
    shot(admin, "responded")

    ticket.refresh_from_db()
    assert ticket.state == S.RESPONDED
    mail = smtp_sink.wait_for(1)[0]
    assert f"[{ticket.reference}]" in mail["Subject"]
    assert mail["In-Reply-To"] == "<request-1@mail.example.com>"
    assert mail["Message-ID"].endswith("@privacy-desk.local>")
    assert "request-1@mail.example.com" in mail["References"]
    assert mail.get_content().strip().splitlines() == body.strip().splitlines()
    assert smtp_sink.envelopes[0].rcpt_tos == ["hong@example.com"]
    reply = Message.objects.get(ticket=ticket, kind="reply")
    assert f"<{reply.message_id}>" == mail["Message-ID"] and reply.delivery_status == "sent"
    assert "\r" not in reply.body_text

    # Keyboard: the skip link is the first stop and moves focus to the content.
    admin.goto(f"{base}/en/desk/")
    admin.keyboard.press("Tab")
    assert admin.evaluate("document.activeElement.className") == "skip-link"
    admin.keyboard.press("Enter")
    assert admin.evaluate("document.activeElement.id") == "main"

    # The quarantine list renders too (for the README).
    admin.click("nav.mainnav >> text=Quarantined mail")
    admin.wait_for_url("**/quarantine/")
    shot(admin, "quarantine", full_page=False)
    admin.click("table.tickets a")
    assert "<script>x</script>" in admin.locator("pre.raw").inner_text()  # shown as text, not run
    shot(admin, "quarantine-detail", full_page=False)


def test_copy_screenshots_to_docs() -> None:
    """Not a check: refresh docs/screenshots from the latest run when asked (DESK_UPDATE_DOCS=1)."""
    if os.environ.get("DESK_UPDATE_DOCS") != "1" or not SHOTS.exists():
        pytest.skip("set DESK_UPDATE_DOCS=1 after a browser run to refresh docs/screenshots")
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for png in SHOTS.glob("desk-*.png"):
        shutil.copy(png, target / png.name)
