"""Issue 26, point 1: requests received by phone, letter, fax or in person, entered on the desk and the API.

The received time starts the legal clock (by the legal calendar), never lies in the future; a
requester may have no e-mail address, and then every notice waits until the desk records how it
was given; scanned papers are stored like inbound files; who entered it is audited and shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from helpdesk import services
from helpdesk.models import AuditEvent, Channel, DeliveryStatus, Message, MessageKind, NoticeDelivery, Ticket, User
from tests.api.conftest import token_client
from workflows import sla

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def desk(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def local_input(moment: datetime) -> str:
    return timezone.localtime(moment, SEOUL).strftime("%Y-%m-%dT%H:%M")


def phone_form(**changes: Any) -> dict[str, Any]:
    received = timezone.now() - timedelta(days=2, hours=3)
    data = {
        "channel": "phone", "received_at": local_input(received), "requester_name": "김철수",
        "requester_email": "", "phone": "010-1234-5678", "postal_address": "", "organization": "",
        "language": "ko", "request_type": "deletion", "subject": "전화로 받은 삭제 요청",
        "body_text": "회원 탈퇴와 개인정보 삭제를 원하신다고 전화하셨습니다.", "acknowledge": "on",
    }
    data.update(changes)
    return data


def test_phone_request_without_email_runs_the_clock_from_the_call(
        admin_user: User, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]) -> None:
    data = phone_form()
    scan = SimpleUploadedFile("요청서 스캔.pdf", PDF, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = desk(admin_user).post("/desk/tickets/new/", {**data, "attachments": [scan]})
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.select_related("requester").get()
    assert response["Location"].endswith(f"/desk/tickets/{ticket.reference}/")
    received = datetime.strptime(data["received_at"], "%Y-%m-%dT%H:%M").replace(tzinfo=SEOUL)
    assert ticket.channel == Channel.PHONE and ticket.received_at == received
    # The legal deadline runs from the call, by the legal calendar, not from the moment of typing.
    assert ticket.due_at == sla.compute_due_at(received, sla.policy_for("deletion"))
    assert ticket.due_at != sla.compute_due_at(timezone.now(), sla.policy_for("deletion"))
    assert ticket.entered_by == admin_user and ticket.request_type == "deletion"
    assert ticket.requester.email is None and ticket.requester.phone == "010-1234-5678"
    first = ticket.messages.get(kind=MessageKind.MAIL)
    [scan_row] = first.attachments.all()
    assert scan_row.filename == "요청서 스캔.pdf" and scan_row.content_type == "application/pdf"
    assert scan_row.file.read() == PDF
    created = AuditEvent.objects.get(ticket=ticket, action="ticket.created")
    assert created.actor == admin_user and created.data["channel"] == "phone"
    # No address to mail: the acknowledgement waits to be given by hand; nothing is mailed.
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.delivery_status == DeliveryStatus.TO_GIVE and ack.recipients == []
    assert mailoutbox == []
    page = desk(admin_user).get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert "Phone request entered by Moonwon Park" in page
    assert "Phone request, taken down by Moonwon Park" in page and first.author == admin_user
    assert "record how it was given" in page
    assert "No e-mail address: notices are given by phone or post." in page


def test_letter_with_email_is_acknowledged_by_mail(admin_user: User, django_capture_on_commit_callbacks: Any,
                                                   mailoutbox: list[Any]) -> None:
    data = phone_form(channel="letter", phone="", postal_address="서울시 강남구 테헤란로 1\n101호",
                      requester_email="Letter.Writer@Example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert desk(admin_user).post("/desk/tickets/new/", data).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.LETTER and ticket.requester.email == "letter.writer@example.com"
    assert ticket.requester.postal_address == "서울시 강남구 테헤란로 1\n101호"
    assert [m.to for m in mailoutbox] == [["letter.writer@example.com"]]
    page = desk(admin_user).get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert "Letter entered by Moonwon Park" in page


@pytest.mark.parametrize(("changes", "field", "text"), [
    ({"received_at": "future"}, "received_at", "cannot be in the future"),
    ({"received_at": local_input(timezone.now() - timedelta(days=800))}, "received_at", "more than a year ago"),
    ({"phone": "", "postal_address": "", "requester_email": ""}, "phone", "phone number or a postal address"),
    ({"requester_email": "not-an-address"}, "requester_email", "valid email"),
])
def test_bad_input_gets_a_field_error_and_nothing_is_lost(admin_user: User, changes: dict[str, str], field: str,
                                                         text: str) -> None:
    if changes.get("received_at") == "future":
        changes = {"received_at": local_input(timezone.now() + timedelta(hours=1))}
    data = phone_form(**changes)
    response = desk(admin_user).post("/en/desk/tickets/new/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert text in " ".join(form.errors[field])
    page = response.content.decode()
    assert data["body_text"] in page and data["subject"] in page  # what was typed is kept
    assert not Ticket.objects.exists()


def test_a_scan_of_the_wrong_type_is_refused(admin_user: User) -> None:
    exe = SimpleUploadedFile("form.pdf", b"MZ\x90\x00" + b"\x00" * 100, content_type="application/pdf")
    response = desk(admin_user).post("/en/desk/tickets/new/", {**phone_form(), "attachments": [exe]})
    assert response.status_code == 400
    assert "not a file type we accept" in " ".join(response.context["form"].errors["attachments"])
    assert not Ticket.objects.exists()


def test_recording_how_a_notice_was_given(admin_user: User, other_admin: User,
                                          django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        desk(admin_user).post("/desk/tickets/new/", phone_form())
    ticket = Ticket.objects.get()
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    url = f"/en/desk/tickets/{ticket.reference}/notices/{ack.pk}/given/"
    future = {"method": "phone", "given_at": local_input(timezone.now() + timedelta(days=1)), "note": ""}
    response = desk(admin_user).post(url, future)
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert not NoticeDelivery.objects.exists()
    when = timezone.now().replace(second=0, microsecond=0)
    given_form = {"method": "phone", "given_at": local_input(when), "note": "본인 확인 후 안내"}
    response = desk(admin_user).post(url, given_form)
    assert response.status_code == 302
    given = NoticeDelivery.objects.get()
    assert (given.method, given.given_by, given.given_at) == ("phone", admin_user, when)
    assert Message.objects.get(pk=ack.pk).delivery_status == DeliveryStatus.GIVEN
    event = AuditEvent.objects.get(ticket=ticket, action="message.given_by_hand")
    assert event.actor == admin_user and event.data["method"] == "phone"
    page = desk(admin_user).get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert "Given by Phone call on" in page and "본인 확인 후 안내" in page
    # Once only.
    assert desk(admin_user).post(url, {"method": "post", "given_at": local_input(when)}).status_code == 400
    assert NoticeDelivery.objects.count() == 1


def test_a_reply_to_a_phone_only_requester_waits_to_be_given(admin_user: User, mailoutbox: list[Any],
                                                            django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        desk(admin_user).post("/desk/tickets/new/", phone_form(acknowledge=""))
        ticket = Ticket.objects.get()
        reply = services.send_reply(ticket=ticket, author=admin_user, body_text="안내드립니다.")
    assert reply.delivery_status == DeliveryStatus.TO_GIVE and mailoutbox == []


def test_the_same_caller_is_one_requester_another_name_is_another(admin_user: User) -> None:
    for name in ("김철수", "김철수", "김영희"):
        assert desk(admin_user).post("/desk/tickets/new/", phone_form(requester_name=name)).status_code == 302
    assert sorted(Ticket.objects.values_list("requester__name", flat=True)) == ["김영희", "김철수", "김철수"]
    assert Ticket.objects.values("requester").distinct().count() == 2


# --- API -----------------------------------------------------------------------------------------
def test_api_phone_request_with_received_at_and_no_email(admin_user: User) -> None:
    received = (timezone.now() - timedelta(days=1)).replace(microsecond=0)
    body = {"channel": "phone", "received_at": received.isoformat(), "phone": "02-555-0100",
            "requester_name": "이영수", "subject": "열람 요청(전화)", "body_text": "전화로 열람을 요청함",
            "request_type": "access"}
    response = token_client(admin_user).post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["channel"] == "phone" and data["requester"]["email"] is None
    assert data["entered_by"] == {"username": "moonwon.park", "name": "Moonwon Park"}
    ticket = Ticket.objects.get(reference=data["reference"])
    assert ticket.received_at == received
    assert ticket.due_at == sla.compute_due_at(received, sla.policy_for("access"))
    assert [m["delivery_status"] for m in data["messages"] if m["kind"] == "acknowledgement"] == ["to_give"]


def test_api_multipart_with_a_scanned_letter(admin_user: User) -> None:
    scan = SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf")
    body = {"channel": "letter", "postal_address": "부산시 해운대구 1", "subject": "정정 요청", "body_text": "편지",
            "request_type": "correction", "attachments": [scan]}
    response = token_client(admin_user).post("/api/v1/tickets/", body, format="multipart")
    assert response.status_code == 201, response.content
    [first] = [m for m in response.json()["messages"] if m["kind"] == "mail"]
    assert [(a["filename"], a["content_type"]) for a in first["attachments"]] == [("letter.pdf", "application/pdf")]


def test_api_field_errors(admin_user: User) -> None:
    client = token_client(admin_user)
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    response = client.post("/api/v1/tickets/", {"channel": "phone", "received_at": future, "subject": "s",
                                                "body_text": "b", "request_type": "access"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "received_at" in fields and "requester_email" in fields
    assert not Ticket.objects.exists()
    # The old shape (an e-mail, no channel) still works: channel "staff".
    response = client.post("/api/v1/tickets/", {"requester_email": "a@example.com", "subject": "s",
                                                "body_text": "b", "request_type": "access"}, format="json")
    assert response.status_code == 201 and response.json()["channel"] == "staff"


def test_schema_documents_the_new_fields(admin_user: User) -> None:
    schema = token_client(admin_user).get("/api/v1/schema/?format=json").json()
    create = schema["components"]["schemas"]["TicketCreateRequest"]["properties"]
    assert {"channel", "received_at", "postal_address", "attachments"} <= set(create)
    assert "multipart/form-data" in schema["paths"]["/api/v1/tickets/"]["post"]["requestBody"]["content"]
