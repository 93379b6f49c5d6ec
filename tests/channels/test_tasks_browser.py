"""The ticket page's "Send a task" form in a real headless Chromium, the task mailed to a real SMTP sink.

Park Moonwon sends the newsletter consignee (Stibee, privacy policy §11) a task from a deletion
request: a due date after the legal deadline is refused next to the field with nothing typed lost;
a correct one sends the mail and lists the task with its state and due date. Screenshots go to
docs/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk import services
from helpdesk.models import Channel, Contact, ContactKind, Task, TaskState
from tests.channels.test_intake_browser import sign_in
from workflows.calendar import local_date

pytestmark = [pytest.mark.browser, pytest.mark.services]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_a_task_sent_from_the_ticket_page(browser: Any, live_server: Any, smtp_sink: Any, transactional_db: Any,
                                          make_admin: Any) -> None:
    admin = make_admin("moonwon.park")
    Contact.objects.create(name="Stibee privacy team", organisation="Stibee Co., Ltd.", kind=ContactKind.PROCESSOR,
                           email="privacy@stibee.example")
    ticket = services.create_ticket(
        message=services.InboundMessage(sender_email="hong@example.com", sender_name="홍길동",
                                        subject="뉴스레터 구독 정보 삭제 요청",
                                        body_text="뉴스레터 구독 정보를 지워 주세요."),
        channel=Channel.EMAIL, request_type="deletion", acknowledge=False)
    services.assign_ticket(ticket=ticket, assignee=admin, actor=admin)
    smtp_sink.messages.clear()
    page = sign_in(browser, live_server.url)
    page.goto(f"{live_server.url}/en/desk/tickets/{ticket.reference}/")
    page.click("#tasks summary")
    page.select_option("#id_task_contact", label="Stibee privacy team (Stibee Co., Ltd.) · Processor (consignee)")
    page.fill("#id_task_instructions", "구독자 hong@example.com 의 정보를 삭제하고 결과를 회신해 주세요.")
    deadline = local_date(ticket.due_at)
    page.fill("#id_task_due_date", (deadline + timedelta(days=2)).isoformat())
    page.evaluate("document.getElementById('id_task_due_date').removeAttribute('max')")  # as a script could
    page.click("#task-form button[type=submit]")
    page.wait_for_selector("#tasks .error")
    assert "must be due by the ticket's legal deadline" in page.locator("#tasks").inner_text()
    assert page.input_value("#id_task_instructions").startswith("구독자 hong@example.com")  # nothing lost
    page.locator("#tasks").screenshot(path=str(SHOTS / "desk-task-error.png"))
    page.fill("#id_task_due_date", (deadline - timedelta(days=1)).isoformat())
    page.click("#task-form button[type=submit]")
    page.wait_for_selector(".flash")
    task = Task.objects.get()
    assert task.state == TaskState.OPEN
    [mail] = smtp_sink.wait_for(1)
    assert f"[{task.token}]" in mail["Subject"] and mail["To"] == "privacy@stibee.example"
    text = page.locator("#tasks").inner_text()
    assert "T1" in text and "Open" in text and (deadline - timedelta(days=1)).isoformat() in text
    page.locator("#tasks").screenshot(path=str(SHOTS / "desk-task.png"))
