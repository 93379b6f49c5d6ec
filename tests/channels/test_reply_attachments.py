"""Issue 26, point 4: files on staff replies (a notice as PDF, proof of a correction).

Bounded in count, size and type, names sanitised, stored like inbound files, mailed with the reply
over real SMTP, listed on the desk's timeline and the requester's status page, audited; the API's
reply endpoint takes them as multipart.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk.models import Attachment, AuditEvent, Message, MessageKind, Ticket, User
from helpdesk.public import tokens
from tests.api.conftest import token_client
from tests.channels.test_staff_intake import PDF, desk

pytestmark = pytest.mark.django_db


def pdf(name: str = "처리결과 통지서.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_desk_reply_with_a_pdf_reaches_the_requester(make_ticket: Any, admin_user: User, smtp_sink: Any,
                                                     django_capture_on_commit_callbacks: Any) -> None:
    ticket: Ticket = make_ticket(email="hong@example.com")
    smtp_sink.messages.clear()
    smtp_sink.envelopes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk(admin_user).post(f"/desk/tickets/{ticket.reference}/reply/", {
            "version": ticket.version, "body_text": "정정 결과를 첨부합니다.", "and_respond": "0",
            "attachments": [pdf(), pdf("../../etc/증빙\x07.pdf")]})
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    files = list(reply.attachments.order_by("pk"))
    assert [a.filename for a in files] == ["처리결과 통지서.pdf", "증빙.pdf"]  # sanitised: no path, no control
    assert all(a.file.read() == PDF and a.content_type == "application/pdf" for a in files)
    assert not files[0].file.name.endswith(".pdf")  # stored under a random name, like inbound files
    [mail] = smtp_sink.wait_for(1)
    assert smtp_sink.envelopes[0].rcpt_tos == ["hong@example.com"]
    parts = [(p.get_filename(), p.get_content_type(), p.get_content()) for p in mail.iter_attachments()]
    assert parts == [("처리결과 통지서.pdf", "application/pdf", PDF), ("증빙.pdf", "application/pdf", PDF)]
    event = AuditEvent.objects.get(ticket=ticket, action="reply.sent")
    assert [a["filename"] for a in event.data["attachments"]] == ["처리결과 통지서.pdf", "증빙.pdf"]
    page = desk(admin_user).get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert page.count(f"/desk/attachments/{files[0].pk}/") == 1
    status = Client().get(f"/en/request/{tokens.status_token(ticket)}/").content.decode()
    assert "처리결과 통지서.pdf" in status and "증빙.pdf" in status


@pytest.mark.parametrize(("files", "text"), [
    ([SimpleUploadedFile("x.pdf", b"MZ\x90\x00" + b"\x00" * 64)], "not a file type we accept"),
    ([pdf(f"{i}.pdf") for i in range(6)], "Attach at most 5 files."),
])
def test_bad_reply_files_get_a_field_error_and_nothing_is_sent(make_ticket: Any, admin_user: User, files: list[Any],
                                                               text: str, mailoutbox: list[Any]) -> None:
    ticket = make_ticket()
    mailoutbox.clear()
    response = desk(admin_user).post(f"/en/desk/tickets/{ticket.reference}/reply/", {
        "version": ticket.version, "body_text": "첨부합니다", "and_respond": "0", "attachments": files})
    assert response.status_code == 400
    assert text in response.content.decode()
    assert "첨부합니다" in response.content.decode()  # the text typed is kept
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).exists() and mailoutbox == []


def test_api_reply_with_multipart_files(make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    client = token_client(admin_user)
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    response = client.post(url, {"body_text": "통지서 첨부", "attachments": [pdf()]}, format="multipart")
    assert response.status_code == 201, response.content
    assert [(a["filename"], a["content_type"]) for a in response.json()["attachments"]] == [
        ("처리결과 통지서.pdf", "application/pdf")]
    bad = client.post(url, {"body_text": "x", "attachments": [SimpleUploadedFile("a.pdf", b"")]}, format="multipart")
    assert bad.status_code == 400 and "attachments" in bad.json()["error"]["fields"]
    assert Attachment.objects.filter(message__ticket=ticket, message__kind=MessageKind.REPLY).count() == 1
    schema = client.get("/api/v1/schema/?format=json").json()
    content = schema["paths"]["/api/v1/tickets/{reference}/messages/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in content
