"""Issue 28: the whole journey of an access request and of a deletion request, in a real Chromium,
as the administrators and the manager work them — every desk page visited is checked for duplicate
ids and axe-core violations (tests/support/pagecheck.py).

Screenshots (Korean and English, desktop 1366×860 and phone 390×844) go to artifacts/screenshots/desk/;
``DESK_UPDATE_DOCS=1`` also writes them to docs/screenshots/desk/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpdesk import services
from helpdesk.fulfilment.management.commands.demo_data_sources import create_demo_crm
from helpdesk.fulfilment.models import AccessPackage, ErasurePlan, ErasureStatus, PackageStatus
from helpdesk.models import AuditEvent, Channel, Ticket, User
from tests.fulfilment.conftest import crm_toml
from tests.support.pagecheck import assert_page_sound
from workflows.states import TicketState as S

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots" / "desk"
DOCS = ROOT / "docs" / "screenshots" / "desk"
PASSWORD = "x-Very-long-password-1"
DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("DESK_UPDATE_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


def sign_in(browser: Any, base: str, username: str, *, english: bool = False, viewport: dict[str, int] = DESKTOP,
            ) -> Any:
    context = browser.new_context(viewport=viewport, locale="ko-KR", is_mobile=viewport == PHONE)
    page = context.new_page()
    page.goto(f"{base}/desk/login/")
    assert_page_sound(page)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/desk/**")
    if english:
        page.click(".lang-switch button")
        page.wait_for_url("**/en/desk/**")
    return page


def open_ticket(page: Any, base: str, ticket: Ticket, *, english: bool = False) -> None:
    page.goto(f"{base}{'/en' if english else ''}/desk/tickets/{ticket.reference}/")
    assert_page_sound(page)


def steps(page: Any) -> list[str]:
    """The next steps as listed, in order (a form's summary, or the line)."""
    texts = page.eval_on_selector_all(
        "ol.action-list > li",
        "items => items.map(li => (li.querySelector('summary') || li).innerText.replace(/\\s+/g, ' ').trim())")
    return list(texts)


def act(page: Any, name: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None) -> None:
    page.click(f"details.action-{name} > summary")
    for field, value in (select or {}).items():
        page.select_option(f"select[name={name}-{field}]", value)
    for field, value in (fill or {}).items():
        page.fill(f"textarea[name={name}-{field}]", value)
    page.click(f"details.action-{name} button[type=submit]")
    page.wait_for_selector(".flash")
    assert_page_sound(page)


def press(page: Any, label: str) -> None:
    page.click(f'#fulfilment button:has-text("{label}")')
    page.wait_for_selector(".flash")
    assert_page_sound(page)


def timeline_text(page: Any) -> str:
    return str(page.locator("ol.timeline-list").inner_text())


@pytest.fixture
def journey(transactional_db: Any, make_admin: Callable[..., User], manager: User, tmp_path: Path,
            settings: Any) -> dict[str, Any]:
    crm = tmp_path / "crm.sqlite3"
    create_demo_crm(crm)
    sources = tmp_path / "sources.toml"
    sources.write_text(crm_toml(crm), encoding="utf-8")
    settings.DESK_DATA_SOURCES = str(sources)
    admin = make_admin("moonwon.park")
    make_admin("hyojoon.shim", is_away=True)
    for user, name in ((admin, "박문원"), (manager, "김관리")):
        user.display_name = name
        user.save(update_fields=["display_name"])

    def request(kind: str, subject: str) -> Ticket:
        ticket = services.create_ticket(
            message=services.InboundMessage(sender_email="requester@example.com", sender_name="홍길동",
                                            subject=subject, body_text="회원 ID: hong123 입니다."),
            channel=Channel.WEB, request_type=kind, acknowledge=False)
        services.assign_ticket(ticket=ticket, assignee=admin, actor=manager)
        return Ticket.objects.get(pk=ticket.pk)

    return {"admin": admin, "manager": manager, "access": request("access", "개인정보 열람 요청"),
            "deletion": request("deletion", "개인정보 삭제 요청")}


def test_access_request_journey(browser: Any, live_server: Any, journey: dict[str, Any]) -> None:
    base, ticket = live_server.url, journey["access"]
    page = sign_in(browser, base, "moonwon.park")
    assert_page_sound(page)  # the queue
    open_ticket(page, base, ticket)
    shot(page, "ko-access-1-received")
    assert steps(page)[0] == "다음 본인 확인"  # Next: verify identity
    act(page, "verify", select={"verification_method": "id_document"}, fill={"note": "신분증 사본 확인"})

    # Verified: the desk points at the lookup first; "Mark processed" says why it cannot run yet.
    listed = steps(page)
    assert listed[0].startswith("다음") and "개인정보" in listed[0]
    assert listed[-1].startswith("처리 완료") and "아직 할 수 없음" in listed[-1]
    assert not any("본인 확인" in s for s in listed)  # done already: not offered again
    press(page, "요청인의 개인정보 찾기")
    press(page, "열람 자료 만들기")
    confirm = page.locator("form.confirm-step").inner_text()
    package = AccessPackage.objects.get(ticket=ticket)
    records = sum(t["records"] for t in package.contents["tables"])
    assert f"기록 {records}건" in confirm and "14일" in confirm
    shot(page, "ko-access-2-release-confirmation")
    page.check("#confirm-release")
    press(page, "요청인에게 공개")
    package.refresh_from_db()
    assert package.status == PackageStatus.RELEASED

    # Now "Mark processed" is what comes next; after it, "Mark responded" waits for the answer.
    assert steps(page)[0] == "다음 처리 완료로 표시"
    act(page, "process", fill={"note": "열람 자료를 공개했습니다."})
    assert any(s.startswith("답변 완료로 표시") and "아직 할 수 없음" in s for s in steps(page))
    page.fill("#reply-form textarea", "홍길동님, 요청하신 개인정보 열람 자료를 상태 페이지에서 내려받으실 수 있습니다.")
    page.click("#reply-form button[name=and_respond][value='1']")
    page.wait_for_selector(".flash")
    assert_page_sound(page)
    assert Ticket.objects.get(pk=ticket.pk).state == S.RESPONDED

    # The timeline reads as sentences with people's names, never codes or usernames.
    text = timeline_text(page)
    assert "박문원 님이 요청자의 신원을 확인했습니다" in text
    assert "박문원 님이 열람 자료 패키지를 요청자에게 공개했습니다." in text
    assert not re.search(r"\b(fulfilment|transition|ticket|requester)\.[a-z_]+", text)
    assert "moonwon.park" not in text
    shot(page, "ko-access-3-responded")

    # English, desktop and phone.
    open_ticket(page, base, ticket, english=True)
    assert "moonwon.park" not in timeline_text(page) and "박문원 released the access package" in timeline_text(page)
    shot(page, "en-access-responded")
    phone = sign_in(browser, base, "moonwon.park", viewport=PHONE)
    open_ticket(phone, base, ticket)
    shot(phone, "ko-access-phone", full_page=False)
    open_ticket(phone, base, ticket, english=True)
    shot(phone, "en-access-phone", full_page=False)
    review = f"{base}/desk/tickets/{ticket.reference}/fulfilment/package/{package.pk}/review/"
    phone.goto(review)
    assert_page_sound(phone)


def test_deletion_request_journey_with_four_eyes(browser: Any, live_server: Any, journey: dict[str, Any],
                                                 settings: Any) -> None:
    settings.DESK_FOUR_EYES = True
    base, ticket = live_server.url, journey["deletion"]
    admin = sign_in(browser, base, "moonwon.park", english=True)
    open_ticket(admin, base, ticket, english=True)
    act(admin, "verify", select={"verification_method": "email_link"})
    assert steps(admin)[0] == "Next Find the requester's personal data"
    press(admin, "Find the requester's personal data")
    press(admin, "Preview the erasure")
    # Four eyes: the administrator who previewed may not approve.
    assert "another member of staff must approve it" in admin.locator("#fulfilment").inner_text()
    assert admin.locator("#confirm-erasure").count() == 0
    shot(admin, "en-deletion-1-four-eyes")

    manager = sign_in(browser, base, "manager", english=True)
    open_ticket(manager, base, ticket, english=True)
    confirm = manager.locator("form.confirm-step").inner_text()
    assert "1 row will be deleted from 1 table(s)." in confirm
    assert "Kept by law: crm / orders — Commercial Act: transaction records 5 years" in confirm
    assert "An erasure cannot be undone." in confirm
    shot(manager, "en-deletion-2-confirmation")
    # The box unticked, the browser refuses; the server too (checked in tests/fulfilment).
    manager.check("#confirm-erasure")
    manager.click("#fulfilment button:has-text('Approve and erase')")
    manager.wait_for_selector(".flash")
    assert_page_sound(manager)
    plan = ErasurePlan.objects.get(ticket=ticket)
    assert plan.status == ErasureStatus.DONE and plan.approved_by == journey["manager"]
    approved = AuditEvent.objects.get(ticket=ticket, action="fulfilment.erasure_approved")
    assert approved.data["prepared_by"] == "moonwon.park" and approved.data["second_person"] is True

    admin.reload()
    assert_page_sound(admin)
    press(admin, "Send the requester what was erased and kept")
    act(admin, "process", fill={"note": "Erased at the CRM; orders kept by law."})
    admin.fill("#reply-form textarea", "Your personal information was erased as described in our previous mail.")
    admin.click("#reply-form button[name=and_respond][value='1']")
    admin.wait_for_selector(".flash")
    assert_page_sound(admin)
    assert Ticket.objects.get(pk=ticket.pk).state == S.RESPONDED
    text = timeline_text(admin)
    assert "김관리 approved the erasure." in text and "crm / customers: 1 row(s) erased." in text
    shot(admin, "en-deletion-3-responded")
    open_ticket(admin, base, ticket)
    shot(admin, "ko-deletion-responded")
    phone = sign_in(browser, base, "manager", viewport=PHONE)
    open_ticket(phone, base, ticket)
    shot(phone, "ko-deletion-phone", full_page=False)


def test_every_desk_page_has_unique_ids_and_no_axe_violations(browser: Any, live_server: Any,
                                                              journey: dict[str, Any]) -> None:
    base = live_server.url
    for username in ("moonwon.park", "manager"):
        page = sign_in(browser, base, username)
        for path in ("/desk/", "/desk/queues/mine/", "/desk/queues/unassigned/", "/desk/queues/due-soon/",
                     "/desk/queues/overdue/", "/desk/queues/awaiting/", "/desk/queues/all/", "/desk/quarantine/",
                     f"/desk/tickets/{journey['access'].reference}/",
                     f"/desk/tickets/{journey['deletion'].reference}/",
                     "/en/desk/", f"/en/desk/tickets/{journey['access'].reference}/"):
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 200, path
            assert_page_sound(page)
        if username == "manager":
            for path in ("/desk/dashboard/", "/desk/staff/", "/desk/password/"):
                page.goto(base + path)
                assert_page_sound(page)
            shot(page, "ko-dashboard")
            page.goto(base + "/desk/queues/all/")
            # The Korean request-type column breaks between words, never inside one.
            assert page.eval_on_selector("td.type", "td => getComputedStyle(td).wordBreak") == "keep-all"
            shot(page, "ko-queue")
            page.goto(base + "/en/desk/queues/all/")
            shot(page, "en-queue")
            phone = sign_in(browser, base, username, viewport=PHONE)
            phone.goto(base + "/desk/queues/all/")
            assert_page_sound(phone)
            shot(phone, "ko-queue-phone", full_page=False)
    # The check itself fails on a page that has the faults it looks for.
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><img src="x.png">'
                     '<p id="twice">a</p><p id="twice">b</p></main></body></html>')
    with pytest.raises(AssertionError, match="duplicate ids"):
        assert_page_sound(page)
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><img src="x.png"></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        assert_page_sound(page)


def test_contact_us_error_takes_focus_and_names_the_files(browser: Any, live_server: Any, tmp_path: Path) -> None:
    """Point 8 in the browser: after a validation error the summary has the focus and names the files."""
    context = browser.new_context(viewport=PHONE, locale="ko-KR", is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    proof = tmp_path / "id-card.png"
    proof.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    page.set_input_files("#id_attachments", str(proof))
    page.fill("#id_email", "minji@example.com")
    page.click("form button[type=submit].primary")
    page.wait_for_selector("#form-errors")
    assert page.evaluate("document.activeElement.id") == "form-errors"
    assert "id-card.png" in page.locator("#form-errors").inner_text()
    shot(page, "ko-contact-error-phone", full_page=False)
    context.close()
