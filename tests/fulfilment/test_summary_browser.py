"""Issue 28.7 in a real Chromium: the requester opens their data summary from the status page on a
phone (390 px) and on a desktop, in Korean and in English — no ZIP to unpack, nothing wider than the
screen, every value next to its label, axe-core clean (tests/support/pagecheck.py).

Screenshots go to artifacts/screenshots/; ``DESK_UPDATE_DOCS=1`` also writes them to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import AccessPackage
from helpdesk.models import Ticket, User
from helpdesk.public import tokens
from tests.fulfilment.test_summary_words import labelled_toml
from tests.support.pagecheck import assert_page_sound

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("DESK_UPDATE_DOCS") == "1":
        shutil.copy(path, DOCS / path.name)


@pytest.fixture
def released(transactional_db: Any, use_sources: Callable[[str], Path], crm_db: Path,
             verified_ticket: Callable[..., Ticket], admin_user: User,
             django_capture_on_commit_callbacks: Any) -> AccessPackage:
    with sqlite3.connect(crm_db) as db:
        db.execute("UPDATE customers SET created_at = '2026-03-01 15:30:00' WHERE email = 'requester@example.com'")
    use_sources(labelled_toml(crm_db))
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        return fulfilment.release_access_package(package=package, actor=admin_user)


@pytest.mark.parametrize(("language", "link", "label", "when"), [
    ("ko", "이 페이지에서 내 정보 보기", "가입 일시", "2026년 3월 2일 12:30 오전"),
    ("en", "Read my data on this page", "Signed up", "March 2, 2026, 12:30 a.m."),
])
def test_the_requester_reads_their_data_on_a_phone_and_a_desktop(
        browser: Any, live_server: Any, released: AccessPackage, language: str, link: str, label: str,
        when: str) -> None:
    prefix = "/en" if language == "en" else ""
    status = f"{live_server.url}{prefix}/request/{tokens.status_token(released.ticket)}/"
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, is_mobile=size == "phone",
                                      locale="ko-KR" if language == "ko" else "en-US")
        page = context.new_page()
        page.goto(status)
        page.click(f"a:has-text('{link}')")
        page.wait_for_selector("table.records")
        assert_page_sound(page)
        cell = page.locator(f"td[data-label='{label}']").first
        assert cell.inner_text().strip() == when
        fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{size}: the page is wider than the screen"
        shown_label = page.evaluate(
            f"() => getComputedStyle(document.querySelector(\"td[data-label='{label}']\"), '::before').content")
        header_visible = page.evaluate(
            "() => document.querySelector('table.records thead').getBoundingClientRect().height > 2")
        if size == "phone":  # each record a card: the label beside each value, the header row out of sight
            assert label in shown_label and not header_visible
        else:
            assert shown_label in ("none", "normal") and header_visible
        assert page.locator("a:has-text('ZIP')").count() == 1  # the ZIP stays
        shot(page, f"requester-data-summary-{language}-{size}")
        context.close()
