"""Issue 26, point 6: tasks to departments, processors and providers.

A task goes by real SMTP to a contact kept in the admin (here the privacy policy's §11 newsletter
consignee, Stibee), with the task's token in the subject and Message-ID; a due date after the
ticket's legal deadline is a field error on the desk and in the API; the contact's reply threads
onto the ticket (``ingest_message`` and the batch path) as the task's answer and closes it, while a
stranger's or a forged reply does not; ``process`` waits while a task is open, and the desk's next
steps say why; the admin keeps the contacts; the API lists, creates, closes and cancels tasks.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from helpdesk import services
from helpdesk.fulfilment.config import ConfigError, parse_sources
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome, ingest_message
from helpdesk.models import (
    AuditEvent,
    Contact,
    ContactKind,
    Direction,
    MessageKind,
    Quarantine,
    Task,
    TaskState,
    Ticket,
    User,
)
from helpdesk.public import tokens
from tests.api.conftest import token_client
from tests.channels.test_staff_intake import desk
from workflows.calendar import local_date

pytestmark = pytest.mark.django_db

MTA = "mx.micube.co.kr"


@pytest.fixture
def stibee(db: Any) -> Contact:
    return Contact.objects.create(name="Stibee privacy team", organisation="Stibee Co., Ltd.",
                                  kind=ContactKind.PROCESSOR, email="Privacy@Stibee.example",
                                  note="Newsletter subscribers (privacy policy §11)")


@pytest.fixture
def deletion(make_ticket: Any, admin_user: User) -> Ticket:
    ticket = make_ticket(email="hong@example.com", request_type="deletion", channel="email",
                         subject="뉴스레터 구독 정보 삭제 요청")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=admin_user)
    ticket.refresh_from_db()
    return ticket


def due(ticket: Ticket, days_before_deadline: int = 1) -> date:
    return max(local_date(ticket.due_at) - timedelta(days=days_before_deadline), local_date(timezone.now()))


def send(ticket: Ticket, contact: Contact, user: User, capture: Any, **extra: Any) -> Task:
    with capture(execute=True):
        return services.send_task(ticket=ticket, actor=user, contact=contact, due_date=due(ticket),
                                  instructions="구독자 hong@example.com 의 정보를 삭제하고 알려 주세요.", **extra)


def reply(sender: str, *, subject: str, message_id: str, in_reply_to: str = "", auth: str = "",
          body: str = "삭제를 마쳤습니다. / Deleted.") -> bytes:
    head = f"Authentication-Results: {MTA}; {auth}\r\n" if auth else ""
    thread = f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (f"{head}From: {sender}\r\nTo: micube@micube.co.kr\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
            f"{thread}Date: Tue, 08 Dec 2026 10:00:00 +0900\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def test_the_desk_sends_a_task_by_real_smtp(deletion: Ticket, stibee: Contact, admin_user: User, smtp_sink: Any,
                                             django_capture_on_commit_callbacks: Any) -> None:
    url = f"/en/desk/tickets/{deletion.reference}/"
    page = desk(admin_user).get(url).content.decode()
    assert "Send a task (department, processor, provider)" in page and "Stibee privacy team" in page
    smtp_sink.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk(admin_user).post(f"{url}tasks/", {
            "contact": str(stibee.pk), "due_date": due(deletion).isoformat(),
            "instructions": "구독자 hong@example.com 의 정보를 삭제하고 결과를 알려 주세요."})
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.number, task.state, task.contact_email) == (1, TaskState.OPEN, "privacy@stibee.example")
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "privacy@stibee.example"
    assert f"[{deletion.reference}-T1]" in mail["Subject"]
    assert f"{deletion.reference}-T1@" in mail["Message-ID"]
    assert "Auto-Submitted" not in mail  # a person is asked to answer it
    body = mail.get_content()
    assert body.index("요청 사항") < body.index("What to do")  # Korean first, then English
    assert "위탁" in body and "consignment" in body and due(deletion).isoformat() in body
    # Staff only: on the desk's timeline and the task list, never on the requester's status page.
    page = desk(admin_user).get(url).content.decode()
    assert "sent task T1 to Stibee privacy team (Stibee Co., Ltd.), due" in page
    assert "Open" in page and due(deletion).isoformat() in page
    assert "Task mail to a contact → privacy@stibee.example" in page
    assert "hong@example.com 의 정보를 삭제" not in Client().get(
        f"/en/request/{tokens.status_token(deletion)}/").content.decode()
    event = AuditEvent.objects.get(ticket=deletion, action="task.sent")
    assert event.actor == admin_user and event.data["email"] == "privacy@stibee.example"


def test_a_due_date_after_the_legal_deadline_is_a_field_error(deletion: Ticket, stibee: Contact,
                                                              admin_user: User) -> None:
    late = (local_date(deletion.due_at) + timedelta(days=1)).isoformat()
    url = f"/en/desk/tickets/{deletion.reference}/"
    response = desk(admin_user).post(f"{url}tasks/", {"contact": str(stibee.pk), "due_date": late,
                                                      "instructions": "정보를 삭제해 주세요."})
    page = response.content.decode()
    assert response.status_code == 400 and "must be due by the ticket&#x27;s legal deadline" in page
    assert "정보를 삭제해 주세요." in page  # what was typed is kept
    api = token_client(admin_user).post(f"/api/v1/tickets/{deletion.reference}/tasks/", {
        "contact": stibee.pk, "due_date": late, "instructions": "삭제"}, format="json")
    assert api.status_code == 400 and "due_date" in api.json()["error"]["fields"]
    assert not Task.objects.exists()


def test_the_contacts_reply_threads_on_as_the_answer_and_closes_the_task(
        deletion: Ticket, stibee: Contact, admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    first = send(deletion, stibee, admin_user, django_capture_on_commit_callbacks)
    second = send(deletion, stibee, admin_user, django_capture_on_commit_callbacks)
    version, state = Ticket.objects.get(pk=deletion.pk).version, deletion.state
    assert first.mail is not None
    # By In-Reply-To: the first task's mail.
    result = ingest_message(reply("Stibee <PRIVACY@stibee.example>", subject=f"Re: [{first.token}] 개인정보 처리 요청",
                                  message_id="a1@stibee.example", in_reply_to=first.mail.message_id))
    assert (result.outcome, result.ticket_reference) == (Outcome.FOLLOW_UP, deletion.reference)
    first.refresh_from_db()
    assert first.state == TaskState.ANSWERED and first.answer is not None
    assert (first.answer.direction, first.answer.kind) == (Direction.NOTE, MessageKind.TASK_ANSWER)
    second.refresh_from_db()
    assert second.state == TaskState.OPEN
    # By the token in the subject alone, through the batch path.
    results = list(ingest_messages([
        (reply("privacy@stibee.example", subject=f"Re: [{second.token}] 처리 요청", message_id="a2@stibee.example",
               body="두 번째 요청도 처리했습니다."), "a2"),
        (reply("other@example.com", subject="새 요청", message_id="n1@example.com"), "n1")]))
    assert [r.outcome for r in results] == [Outcome.FOLLOW_UP, Outcome.NEW_TICKET]
    second.refresh_from_db()
    assert second.state == TaskState.ANSWERED and "두 번째" in second.answer.body_text  # type: ignore[union-attr]
    ticket = Ticket.objects.get(pk=deletion.pk)
    assert ticket.state == state and ticket.version > version  # filed, never resumed or reopened
    assert AuditEvent.objects.filter(ticket=deletion, action="task.answered").count() == 2
    page = desk(admin_user).get(f"/en/desk/tickets/{deletion.reference}/").content.decode()
    assert "privacy@stibee.example answered task T1; the task is closed." in page
    assert "Answered by the contact" in page
    assert "A contact&#x27;s answer to a task" in page and "&lt;privacy@stibee.example&gt;" in page
    status = Client().get(f"/en/request/{tokens.status_token(deletion)}/").content.decode()
    assert "Deleted." not in status  # a processor's answer is for staff


def test_a_strangers_or_a_forged_reply_does_not_close_the_task(
        deletion: Ticket, stibee: Contact, admin_user: User, settings: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    task = send(deletion, stibee, admin_user, django_capture_on_commit_callbacks)
    assert task.mail is not None
    stranger = ingest_message(reply("attacker@evil.example", subject=f"Re: [{task.token}]",
                                    message_id="x1@evil.example", in_reply_to=task.mail.message_id))
    assert stranger.outcome == Outcome.NEW_TICKET and stranger.ticket_reference != deletion.reference
    settings.DESK_TRUSTED_AUTHSERV_ID = MTA
    forged = ingest_message(reply("privacy@stibee.example", subject=f"Re: [{task.token}]",
                                  message_id="x2@evil.example", in_reply_to=task.mail.message_id,
                                  auth="spf=pass smtp.mailfrom=evil.example; dkim=none; "
                                       "dmarc=fail header.from=stibee.example"))
    assert (forged.outcome, forged.reason) == (Outcome.QUARANTINED, "unauthenticated_reply")
    assert Quarantine.objects.filter(reason="unauthenticated_reply").count() == 1
    task.refresh_from_db()
    assert task.state == TaskState.OPEN and task.answer is None
    genuine = ingest_message(reply("privacy@stibee.example", subject=f"Re: [{task.token}]",
                                   message_id="ok@stibee.example", in_reply_to=task.mail.message_id,
                                   auth="dkim=pass header.d=stibee.example; spf=pass smtp.mailfrom=stibee.example; "
                                        "dmarc=pass header.from=stibee.example"))
    assert genuine.outcome == Outcome.FOLLOW_UP
    task.refresh_from_db()
    assert task.state == TaskState.ANSWERED


def test_process_waits_while_a_task_is_open(deletion: Ticket, stibee: Contact, admin_user: User,
                                            django_capture_on_commit_callbacks: Any) -> None:
    services.transition_ticket(ticket=deletion, name="verify", actor=admin_user, verification_method="email_link")
    record_manual_fulfilment(ticket=deletion, actor=admin_user, reason="CRM 관리 화면에서 직접 삭제했습니다.")
    task = send(deletion, stibee, admin_user, django_capture_on_commit_callbacks)
    with pytest.raises(services.GuardError) as refused:
        services.transition_ticket(ticket=deletion, name="process", actor=admin_user, note="삭제 완료")
    assert list(refused.value.errors) == ["tasks"]
    page = desk(admin_user).get(f"/en/desk/tickets/{deletion.reference}/").content.decode()
    assert "A task sent to a department, processor or provider is still open" in page  # next steps say why
    api = token_client(admin_user).post(f"/api/v1/tickets/{deletion.reference}/transitions/process/",
                                        {"note": "삭제 완료"}, format="json")
    assert api.status_code == 400 and list(api.json()["error"]["fields"]) == ["tasks"]
    response = desk(admin_user).post(f"/en/desk/tickets/{deletion.reference}/tasks/{task.pk}/close/",
                                     {"note": "전화로 삭제 완료를 확인함"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.closed_by == admin_user
    services.transition_ticket(ticket=deletion, name="process", actor=admin_user, note="삭제 완료")
    deletion.refresh_from_db()
    assert deletion.state == "processed"
    page = desk(admin_user).get(f"/en/desk/tickets/{deletion.reference}/").content.decode()
    assert "closed task T1." in page and "is still open" not in page


def test_contacts_are_kept_in_the_admin(db: Any) -> None:
    admin_client = Client()
    admin_client.force_login(User.objects.create_superuser("root", "root@example.com", "x-Very-long-password-1"))
    page = admin_client.get("/admin/helpdesk/contact/add/")
    assert page.status_code == 200 and "수탁자(처리 위탁)" in page.content.decode()  # the admin speaks Korean
    response = admin_client.post("/admin/helpdesk/contact/add/", {
        "name": "데이터 제공처 담당자", "organisation": "Partner Corp", "kind": "provider",
        "email": "dpo@partner.example", "languages": "en,ko", "is_active": "on", "note": ""})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.kind, contact.primary_language) == ("provider", "en")
    assert admin_client.get("/admin/helpdesk/contact/").status_code == 200
    assert admin_client.get("/admin/helpdesk/task/").status_code == 200


def test_a_providers_task_cites_decree_43_2_english_first(deletion: Ticket, admin_user: User, smtp_sink: Any,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    provider = Contact.objects.create(name="Partner DPO", organisation="Partner Corp", kind=ContactKind.PROVIDER,
                                      email="dpo@partner.example", languages="en,ko")
    smtp_sink.messages.clear()
    send(deletion, provider, admin_user, django_capture_on_commit_callbacks)
    [mail] = smtp_sink.wait_for(1)
    body = mail.get_content()
    assert body.startswith("Dear Partner DPO") and "Art. 43(2)" in body and "제43조제2항" in body


def test_the_api_creates_lists_closes_and_cancels_tasks(deletion: Ticket, stibee: Contact, admin_user: User,
                                                        django_capture_on_commit_callbacks: Any) -> None:
    client = token_client(admin_user)
    base = f"/api/v1/tickets/{deletion.reference}"
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(f"{base}/tasks/", {"contact": stibee.pk, "due_date": due(deletion).isoformat(),
                                                 "instructions": "삭제해 주세요.", "data_source": "newsletter"},
                              format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"] == f"{deletion.reference}-T1" and body["state"] == "open"
    assert body["contact_kind"] == "processor" and body["source"] == "newsletter"
    second = client.post(f"{base}/tasks/", {"contact": stibee.pk, "due_date": due(deletion).isoformat(),
                                            "instructions": "하나 더"}, format="json").json()
    [listed, _other] = client.get(f"{base}/").json()["tasks"]
    assert (listed["number"], listed["state"]) == (1, "open")
    closed = client.post(f"{base}/tasks/{body['id']}/close/", {"note": "done by phone"}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "done"
    again = client.post(f"{base}/tasks/{body['id']}/close/", {}, format="json")
    assert again.status_code == 400 and "task" in again.json()["error"]["fields"]
    no_reason = client.post(f"{base}/tasks/{second['id']}/cancel/", {}, format="json")
    assert no_reason.status_code == 400 and "note" in no_reason.json()["error"]["fields"]
    cancelled = client.post(f"{base}/tasks/{second['id']}/cancel/", {"note": "not needed"}, format="json")
    assert cancelled.json()["state"] == "cancelled"
    assert [t["state"] for t in client.get(f"{base}/").json()["tasks"]] == ["done", "cancelled"]
    assert {e.action for e in AuditEvent.objects.filter(ticket=deletion, action__startswith="task.")} == {
        "task.sent", "task.closed", "task.cancelled"}
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/tickets/{reference}/tasks/"]
    assert "post" in paths["/api/v1/tickets/{reference}/tasks/{task}/close/"]
    assert "post" in paths["/api/v1/tickets/{reference}/tasks/{task}/cancel/"]
    assert "tasks" in schema["components"]["schemas"]["TicketDetail"]["properties"]


def test_another_administrator_cannot_send_a_task(deletion: Ticket, stibee: Contact, other_admin: User) -> None:
    response = token_client(other_admin).post(f"/api/v1/tickets/{deletion.reference}/tasks/", {
        "contact": stibee.pk, "due_date": due(deletion).isoformat(), "instructions": "x"}, format="json")
    assert response.status_code == 403 and not Task.objects.exists()


def test_the_data_sources_file_may_name_a_sources_contact(deletion: Ticket, stibee: Contact, admin_user: User,
                                                          settings: Any, tmp_path: Any) -> None:
    text = ('[[source]]\nname = "newsletter"\nkind = "http"\nurl = "https://newsletter.internal/dsr"\n'
            'contact = "privacy@stibee.example"\n\n[[source]]\nname = "crm"\nkind = "http"\n'
            'url = "https://crm.internal/dsr"\ncontact = "owner@crm.example"\n')
    assert [s.contact for s in parse_sources(text)] == ["privacy@stibee.example", "owner@crm.example"]
    with pytest.raises(ConfigError, match="source 'crm': contact = 'not an address'"):
        parse_sources(text.replace("owner@crm.example", "not an address"))
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    settings.DESK_DATA_SOURCES = str(path)
    page = desk(admin_user).get(f"/en/desk/tickets/{deletion.reference}/").content.decode()
    assert "Stibee privacy team (Stibee Co., Ltd.) · Processor (consignee) · newsletter" in page
    assert "Data source “crm” names owner@crm.example, which is not an active contact in the admin." in page
    response = desk(admin_user).post(f"/en/desk/tickets/{deletion.reference}/tasks/", {
        "contact": str(stibee.pk), "due_date": due(deletion).isoformat(), "source": "newsletter",
        "instructions": "뉴스레터 구독 정보를 삭제해 주세요."})
    assert response.status_code == 302 and Task.objects.get().source == "newsletter"
