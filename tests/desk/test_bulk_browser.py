"""Issue 31, point 2 in a real headless Chromium: a manager selects every ticket matching a filter (more
than one page of them) and sends a templated reply as one job; then ticks two rows and assigns them.
The job page shows the progress and the summary; the replies reach a real SMTP sink once each.

Screenshot: artifacts/screenshots/desk-bulk-*.png (``DESK_UPDATE_DOCS=1`` copies them to docs/screenshots/).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from helpdesk import services
from helpdesk.models import AuditEvent, BulkJob, Channel, Ticket
from notifications.models import ResponseTemplate
from tests.support.pagecheck import assert_page_sound

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
PASSWORD = "x-Very-long-password-1"
DELETIONS = 30  # more than one queue page (25)


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"desk-bulk-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("DESK_UPDATE_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


@pytest.fixture
def surge(transactional_db: Any, make_admin: Any, manager: Any) -> dict[str, Any]:
    for i in range(DELETIONS + 6):
        services.create_ticket(
            message=services.InboundMessage(sender_email=f"breach{i}@example.com", subject=f"유출 관련 삭제 요청 {i}",
                                            body_text="제 개인정보를 삭제해 주세요."),
            channel=Channel.WEB, request_type="deletion" if i < DELETIONS else "inquiry", acknowledge=False,
            language="en" if i % 3 == 0 else "ko")
    template = ResponseTemplate.objects.create(
        name="Breach: we are on it", body_ko="{name}님, {reference} 삭제 요청을 접수했습니다.",
        body_en="Dear {name}, we have your deletion request {reference}.")
    admin = make_admin("moonwon.park")  # after the tickets: they are unassigned
    return {"admin": admin, "manager": manager, "template": template}


def sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1366, "height": 860}, locale="en-US").new_page()
    page.goto(f"{base}/en/desk/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/desk/**")
    return page


def test_manager_replies_to_a_whole_filter_result_then_assigns_two_ticked_rows(
        browser: Any, live_server: Any, smtp_sink: Any, surge: dict[str, Any]) -> None:
    page = sign_in(browser, live_server.url, "manager")
    page.goto(f"{live_server.url}/en/desk/queues/all/?request_type=deletion")
    assert page.locator("table.tickets tbody tr").count() == 25  # one page shown ...
    label = page.locator("#bulk-form .bulk-all").inner_text()
    assert f"Select all {DELETIONS} tickets matching this filter" in label  # ... all 30 selectable
    page.check("#bulk-select-all")
    page.select_option("#bulk-form select[name=bulk-action]", "reply")
    page.select_option("#bulk-form select[name=bulk-template]", label="Breach: we are on it")
    assert_page_sound(page)
    shot(page, "queue", full_page=False)
    page.click("#bulk-run")
    page.wait_for_url("**/desk/bulk/*/")
    page.wait_for_selector("#bulk-status[data-status=done]", timeout=60_000)
    assert page.locator("#bulk-done").inner_text() == str(DELETIONS)
    assert page.locator("#bulk-skipped").inner_text() == "0"
    assert_page_sound(page)
    shot(page, "job")
    deletions = Ticket.objects.filter(request_type="deletion")
    assert AuditEvent.objects.filter(action="reply.sent", ticket__in=deletions).count() == DELETIONS
    sent = smtp_sink.wait_for(DELETIONS, timeout=60)
    english = [m for m in sent if "we have your deletion request" in m.get_body(("plain",)).get_content()]
    assert len(english) == DELETIONS // 3  # each requester in their own language
    assert len({m["To"] for m in sent}) == DELETIONS  # once each

    # By hand: tick two rows of the inquiries and assign them to the administrator.
    page.goto(f"{live_server.url}/en/desk/queues/all/?request_type=inquiry")
    rows = page.locator("table.tickets tbody input[type=checkbox][name=tickets]")
    picked = [rows.nth(0).get_attribute("value"), rows.nth(1).get_attribute("value")]
    rows.nth(0).check()
    rows.nth(1).check()
    page.select_option("#bulk-form select[name=bulk-action]", "assign")
    page.select_option("#bulk-form select[name=bulk-assignee]", "moonwon.park")
    page.click("#bulk-run")
    page.wait_for_selector("#bulk-status[data-status=done]", timeout=60_000)
    assert page.locator("#bulk-done").inner_text() == "2"
    assert set(Ticket.objects.filter(assignee=surge["admin"], request_type="inquiry")
               .values_list("reference", flat=True)) >= set(picked)
    assert BulkJob.objects.count() == 2
