"""Issue 26, point 3: participants (Cc) — a guardian, a representative, legal counsel.

Staff add and remove them (audited); a mail's Cc addresses are offered; replies reach them in Cc
over real SMTP; their mail naming the reference threads onto the ticket (one at a time and in a
batch); the requester's status page shows who else receives the answers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from helpdesk import services
from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome, ingest_message
from helpdesk.models import AuditEvent, Channel, Participant, Ticket, User
from helpdesk.public import tokens
from tests.api.conftest import token_client
from tests.channels.test_staff_intake import desk

pytestmark = pytest.mark.django_db


def mail_from(sender: str, reference: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: micube@micube.co.kr\r\nSubject: Re: [{reference}] 추가 자료\r\n"
            f"Message-ID: <{message_id}>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0900\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n보호자로서 추가 자료를 보냅니다.\r\n").encode()


@pytest.fixture
def mailed_ticket(admin_user: User, django_capture_on_commit_callbacks: Any) -> Ticket:
    raw = ("From: 홍길동 <hong@example.com>\r\nTo: micube@micube.co.kr\r\nCc: Mother <Mom@Example.com>, "
           "micube@micube.co.kr\r\nSubject: 열람 요청\r\nMessage-ID: <first@example.com>\r\n"
           "Date: Mon, 07 Dec 2026 09:00:00 +0900\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "열람 요청합니다.\r\n")
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_message(raw.encode())
    assert result.outcome == Outcome.NEW_TICKET
    return Ticket.objects.get(reference=result.ticket_reference)


def test_cc_offered_added_and_mailed(mailed_ticket: Ticket, admin_user: User, smtp_sink: Any,
                                     django_capture_on_commit_callbacks: Any) -> None:
    ticket = mailed_ticket
    url = f"/en/desk/tickets/{ticket.reference}/"
    page = desk(admin_user).get(url).content.decode()
    assert "In the mail's Cc:" in page and "mom@example.com" in page
    response = desk(admin_user).post(f"{url}participants/", {"email": "mom@example.com", "role": "guardian",
                                                            "name": "어머니"})
    assert response.status_code == 302
    page = desk(admin_user).get(url).content.decode()
    assert "어머니" in page and "In the mail's Cc:" not in page
    assert "added mom@example.com: they receive the answers from now on" in page  # the timeline says it in words
    # Not twice, not the requester.
    again = desk(admin_user).post(f"{url}participants/", {"email": "MOM@example.com", "role": "other"})
    assert again.status_code == 400 and "receives the replies already" in again.content.decode()
    own = desk(admin_user).post(f"{url}participants/", {"email": "hong@example.com", "role": "other"})
    assert own.status_code == 400 and "requester&#x27;s own address" in own.content.decode()

    smtp_sink.messages.clear()
    smtp_sink.envelopes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(ticket=ticket, author=admin_user, body_text="답변드립니다.")
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "hong@example.com" and mail["Cc"] == "mom@example.com"
    assert sorted(smtp_sink.envelopes[0].rcpt_tos) == ["hong@example.com", "mom@example.com"]
    status = Client().get(f"/en/request/{tokens.status_token(ticket)}/").content.decode()
    assert "Who else receives the answers" in status and "어머니" in status and "Guardian" in status
    assert AuditEvent.objects.filter(ticket=ticket, action="participant.added").count() == 1

    participant = Participant.objects.get()
    response = desk(admin_user).post(f"{url}participants/", {"remove": str(participant.pk)})
    assert response.status_code == 302
    assert Participant.objects.get().removed_at is not None
    assert AuditEvent.objects.filter(ticket=ticket, action="participant.removed").exists()
    smtp_sink.messages.clear()
    smtp_sink.envelopes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(ticket=ticket, author=admin_user, body_text="두 번째 답변")
    smtp_sink.wait_for(1)
    assert smtp_sink.envelopes[0].rcpt_tos == ["hong@example.com"]


@pytest.mark.parametrize("in_batch", [False, True])
def test_a_participants_mail_threads_onto_the_ticket(mailed_ticket: Ticket, admin_user: User,
                                                     django_capture_on_commit_callbacks: Any, in_batch: bool) -> None:
    ticket = mailed_ticket
    stranger = mail_from("stranger@example.com", ticket.reference, "s1@example.com")
    first = ingest_message(stranger)
    assert first.outcome == Outcome.NEW_TICKET  # not a party: a reference alone does not thread
    services.add_participant(ticket=ticket, actor=admin_user, email="mom@example.com", role="guardian")
    raw = mail_from("Mother <mom@example.com>", ticket.reference, "m1@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        [result] = list(ingest_messages([(raw, "m1")])) if in_batch else [ingest_message(raw)]
    assert (result.outcome, result.ticket_reference) == (Outcome.FOLLOW_UP, ticket.reference)
    assert ticket.messages.filter(sender="mom@example.com").exists()


def test_api_participants(admin_user: User, make_ticket: Any) -> None:
    ticket = make_ticket(channel=Channel.EMAIL)
    client = token_client(admin_user)
    response = client.post(f"/api/v1/tickets/{ticket.reference}/participants/",
                           {"email": "counsel@law.example", "name": "김변호사", "role": "counsel"}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    detail = client.get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert [(p["email"], p["role"]) for p in detail["participants"]] == [("counsel@law.example", "counsel")]
    bad = client.post(f"/api/v1/tickets/{ticket.reference}/participants/", {"email": "nope"}, format="json")
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]
    assert client.delete(f"/api/v1/tickets/{ticket.reference}/participants/{pk}/").status_code == 204
    assert client.get(f"/api/v1/tickets/{ticket.reference}/").json()["participants"] == []
    assert client.delete(f"/api/v1/tickets/{ticket.reference}/participants/{pk}/").status_code == 400
