"""The desk's merge form in a real headless Chromium against a live server (issue 26, point 5).

Park Moonwon opens a duplicate, names the ticket that stays, reads what will move, is stopped by
the missing confirmation across requesters (next to the checkbox, nothing lost), confirms, and lands
on the ticket that stays, whose timeline shows the merge and the duplicate's message. Screenshots of
both steps go to docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpdesk.models import Channel, Ticket, User
from tests.channels.test_intake_browser import sign_in
from workflows.states import TicketState

pytestmark = [pytest.mark.browser, pytest.mark.services]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_merge_form_in_the_browser(browser: Any, live_server: Any, transactional_db: Any,
                                   make_admin: Callable[..., User], make_ticket: Callable[..., Ticket]) -> None:
    admin = make_admin("moonwon.park")
    stays = make_ticket(email="guardian@example.com", subject="자녀 개인정보 열람 요청", channel=Channel.EMAIL,
                        body="아이의 개인정보 열람을 요청합니다.")
    duplicate = make_ticket(email="kid@example.com", subject="내 정보 열람", body="제 정보를 보여 주세요.")
    Ticket.objects.filter(pk__in=[stays.pk, duplicate.pk]).update(assignee=admin)
    page = sign_in(browser, live_server.url)
    page.goto(f"{live_server.url}/en/desk/tickets/{duplicate.reference}/")
    page.click("a.merge-link")
    page.wait_for_url(f"**/desk/tickets/{duplicate.reference}/merge/")
    page.fill("input[name=into]", duplicate.reference)
    page.click("#merge-form button[type=submit]")
    assert "cannot be merged into itself" in page.locator("#merge-form .error").inner_text()
    page.fill("input[name=into]", stays.reference)
    page.click("#merge-form button[type=submit]")
    page.wait_for_selector(".merge-preview")
    preview = page.locator(".merge-preview").inner_text()
    assert f"messages move to {stays.reference}" in preview and "Different requesters" in preview
    page.click("#merge-form button.danger")  # without the checkbox
    page.wait_for_selector(".other-requester .error")
    assert "different requester" in page.locator(".other-requester .error").inner_text()
    assert Ticket.objects.get(pk=duplicate.pk).state == TicketState.RECEIVED
    page.screenshot(path=str(SHOTS / "desk-merge-confirm.png"), full_page=True)
    page.check("input[name=confirm_other_requester]")
    page.click("#merge-form button.danger")
    page.wait_for_url(f"**/desk/tickets/{stays.reference}/")
    timeline = page.locator(".timeline").inner_text()
    assert f"merged {duplicate.reference} into this ticket" in timeline and "제 정보를 보여 주세요." in timeline
    assert duplicate.reference in page.locator("#links").inner_text()
    page.screenshot(path=str(SHOTS / "desk-merged.png"), full_page=True)
    merged = Ticket.objects.get(pk=duplicate.pk)
    assert merged.state == TicketState.MERGED and merged.merged_into_id == stays.pk
