"""Issue 29: a bounce of our own mail to the requester is not just ignored. The mail it names is marked
bounced (never retried), the ticket gets a note, the audit trail an event, and the assigned
administrator a mail saying the requester's address does not work."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome, ingest_message
from helpdesk.models import DeliveryStatus, Message, MessageKind, Quarantine, Ticket
from notifications.tasks import messages_due_for_retry

pytestmark = pytest.mark.django_db

REQUEST = ("From: Kim <gone@example.org>\nTo: micube@micube.co.kr\nSubject: 개인정보 열람 요청\n"
           "Message-ID: <bounce-req@example.org>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\n\n열람 요청합니다.\n").encode()


def _dsn(returned_type: str, returned: str, action: str = "failed") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: micube@micube.co.kr\n"
        "Subject: Undelivered Mail Returned to Sender\nDate: Mon, 07 Dec 2026 10:05:00 +0900\n"
        "Message-ID: <dsn-1@mx.example.org>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"Final-Recipient: rfc822; gone@example.org\nAction: {action}\nStatus: 5.1.1\n"
        f"--R\nContent-Type: {returned_type}\n\n{returned}\n--R--\n").encode()


def _file(path: str, raw: bytes) -> Any:
    return next(iter(ingest_messages([(raw, "dsn")]))) if path == "batch" else ingest_message(raw, source="dsn")


@pytest.mark.parametrize("path", ["one_at_a_time", "batch"])
@pytest.mark.parametrize("names", ["message-id", "ticket-header"])
def test_a_bounced_acknowledgement_is_marked_noted_audited_and_reported(
        path: str, names: str, make_admin: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = make_admin("moonwon.park")
    with django_capture_on_commit_callbacks(execute=True):
        created = ingest_message(REQUEST, source="request")
    ticket = Ticket.objects.get(reference=created.ticket_reference)
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.delivery_status == DeliveryStatus.SENT
    returned = (f"From: micube@micube.co.kr\nTo: gone@example.org\nSubject: {ack.subject}\n"
                f"Message-ID: <{ack.message_id}>" if names == "message-id" else
                f"From: micube@micube.co.kr\nTo: gone@example.org\nX-Privacy-Desk-Ticket: {ticket.reference}")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = _file(path, _dsn("message/rfc822" if names == "message-id" else "text/rfc822-headers", returned))
    assert (result.outcome, result.ticket_reference) == (Outcome.IGNORED_AUTO, ticket.reference)
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.BOUNCED
    assert ack.pk not in messages_due_for_retry(older_than_minutes=-60)  # never sent again
    note = ticket.messages.get(kind=MessageKind.NOTE)
    assert "gone@example.org" in note.body_text and "반송" in note.body_text
    assert ticket.messages.filter(kind=MessageKind.AUTO).count() == 1  # the report itself, kept
    event = ticket.audit_events.get(action="delivery.bounced")
    assert event.data["message"] == ack.pk
    (alert,) = mail.outbox
    assert alert.to == [admin.email] and ticket.reference in alert.subject
    assert "gone@example.org" in alert.body
    assert not Quarantine.objects.exists()


def test_a_delay_report_changes_nothing(make_admin: Any, django_capture_on_commit_callbacks: Any) -> None:
    make_admin("moonwon.park")
    with django_capture_on_commit_callbacks(execute=True):
        created = ingest_message(REQUEST, source="request")
    ack = Message.objects.get(kind=MessageKind.ACKNOWLEDGEMENT)
    returned = f"From: micube@micube.co.kr\nMessage-ID: <{ack.message_id}>"
    result = ingest_message(_dsn("message/rfc822", returned, action="delayed"), source="dsn")
    assert result.outcome == Outcome.IGNORED_AUTO
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.SENT
    assert not Message.objects.filter(kind=MessageKind.NOTE, ticket__reference=created.ticket_reference).exists()


def test_a_bounce_of_mail_we_never_sent_is_set_aside(make_admin: Any) -> None:
    result = ingest_message(_dsn("message/rfc822", "From: x@example.org\nMessage-ID: <unknown@elsewhere>"), source="d")
    assert (result.outcome, result.ticket_reference, result.reason) == (Outcome.IGNORED_AUTO, None, "auto_submitted")
    assert Quarantine.objects.get().reason == "auto_submitted"
