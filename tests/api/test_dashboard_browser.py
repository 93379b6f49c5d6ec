"""The dashboard in headless Chromium: the charts draw and have data points. Saves a screenshot."""

from __future__ import annotations

import os
import random
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from helpdesk.models import Ticket, User
from tests.support.realservices import require
from workflows.calendar import desk_tz
from workflows.request_types import RequestType
from workflows.states import TicketState as S

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = Path(os.environ.get("DESK_SCREENSHOT_DIR", settings.BASE_DIR / "var" / "screenshots"))


def _need_chromium() -> None:
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium")


def seed_eight_weeks(make_ticket: Any, staff: list[User]) -> None:
    """Sixty tickets over eight weeks with a plausible mix of types, answers and delays."""
    rng = random.Random(7)
    now = timezone.now()
    types = [RequestType.ACCESS] * 4 + [RequestType.DELETION] * 3 + [RequestType.CONSENT_WITHDRAWAL] * 2 + [
        RequestType.COMPLAINT, RequestType.INQUIRY, RequestType.CORRECTION]
    for i in range(60):
        received = now - timedelta(days=rng.uniform(0.5, 55), hours=rng.uniform(0, 8))
        due = (received + timedelta(days=10)).astimezone(desk_tz()).replace(hour=23, minute=59, second=59)
        first = received + timedelta(hours=rng.choice([2, 5, 20, 30, 60, 100]))
        answered = received + timedelta(days=rng.choice([1, 3, 5, 8, 9, 12, 14]))
        done = answered < now and rng.random() < 0.8
        ticket = make_ticket(email=f"seed{i}@example.com", subject=f"요청 {i}", request_type=rng.choice(types))
        Ticket.objects.filter(pk=ticket.pk).update(
            received_at=received, due_at=due, assignee=staff[i % len(staff)],
            first_response_at=first if first < now else None,
            responded_at=answered if done else None, closed_at=answered if done else None,
            state=S.RESPONDED if done else rng.choice([S.RECEIVED, S.VERIFIED, S.PROCESSED]),
        )


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_dashboard_renders_charts_with_data(live_server: Any, make_ticket: Any, admin_user: User, other_admin: User,
                                            manager: User, client: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _need_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    seed_eight_weeks(make_ticket, [admin_user, other_admin])
    client.force_login(manager)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    today = timezone.localdate(timezone.now(), desk_tz())
    url = f"{live_server.url}/en/desk/dashboard/?from={today - timedelta(days=55)}&to={today}"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1500}, device_scale_factor=1)
            host = live_server.url.split("//", 1)[1].split(":")[0]
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "domain": host,
                                  "path": "/"}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = page.goto(url)
            assert response is not None and response.status == 200
            page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-workload'))")
            points = page.evaluate("""() => Object.fromEntries(
                ['chart-weekly', 'chart-distribution', 'chart-compliance', 'chart-workload'].map(id => {
                    const chart = Chart.getChart(document.getElementById(id));
                    const values = chart.data.datasets.flatMap(d => d.data).filter(v => v !== null);
                    return [id, {labels: chart.data.labels.length, points: values.length,
                                 total: values.reduce((a, b) => a + b, 0)}];
                }))""")
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert points["chart-weekly"]["labels"] >= 7 and points["chart-weekly"]["total"] == 60
    assert points["chart-distribution"]["total"] > 0
    assert points["chart-compliance"]["points"] >= 5
    assert points["chart-workload"]["labels"] == 2 and points["chart-workload"]["total"] > 0
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOT_DIR / "dashboard.png")
    assert (SCREENSHOT_DIR / "dashboard.png").stat().st_size > 20_000


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_top_cards_add_up_in_a_browser(browser: Any, live_server: Any, make_ticket: Any, admin_user: User,
                                           manager: User, client: Any, language: str) -> None:
    """Issue 28.9: each category on its own visible card, adding up to "received"; desktop and phone; axe clean."""
    from tests.support.pagecheck import assert_page_sound

    now = timezone.now()
    states = [S.RECEIVED, S.VERIFIED, S.RESPONDED, S.RESPONDED, S.RESPONDED, S.WITHDRAWN, S.REJECTED, S.REJECTED]
    for i, state in enumerate(states):
        ticket = make_ticket(email=f"card{i}@example.com", subject=f"카드 {i}")
        closed = now - timedelta(hours=20 - i) if state != S.RECEIVED and state != S.VERIFIED else None
        Ticket.objects.filter(pk=ticket.pk).update(
            state=state, received_at=now - timedelta(days=2), assignee=admin_user, closed_at=closed,
            responded_at=closed if state in (S.RESPONDED, S.REJECTED) else None,
            first_response_at=now - timedelta(days=1, hours=22))
    client.force_login(manager)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    today = timezone.localdate(timezone.now(), desk_tz())
    prefix = "/en" if language == "en" else ""
    url = f"{live_server.url}{prefix}/desk/dashboard/?from={today - timedelta(days=6)}&to={today}"
    host = live_server.url.split("//", 1)[1].split(":")[0]
    for size, viewport in (("desktop", {"width": 1366, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport, is_mobile=size == "phone")
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "domain": host,
                              "path": "/"}])
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-workload'))")
        assert_page_sound(page)
        cards = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(e => {
            const box = e.closest('.stat').getBoundingClientRect();
            return [e.dataset.figure, {value: Number(e.innerText), visible: box.width > 0 && box.height > 0,
                                       label: e.closest('.stat').querySelector('.stat-label').innerText}];
        }))""")
        assert {k: v["value"] for k, v in cards.items()} == {
            "received": 8, "open": 2, "answered": 3, "withdrawn": 1, "rejected": 2, "merged": 0}
        assert all(card["visible"] for card in cards.values())
        assert cards["rejected"]["label"] == ("Rejected" if language == "en" else "거절됨")
        # The first-response card reads in days and hours, never in fractions of an hour.
        first = page.locator(".stat", has_text="First response" if language == "en" else "첫 응답").first.inner_text()
        assert ("2 h" if language == "en" else "2시간") in first and "0." not in first
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"dashboard-cards-{language}-{size}.png"
        page.screenshot(path=str(path), full_page=size == "desktop")
        if os.environ.get("DESK_UPDATE_DOCS") == "1":
            shutil.copy(path, settings.BASE_DIR / "docs" / "screenshots" / path.name)
        context.close()
