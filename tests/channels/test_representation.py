"""Issue 26, point 2: requests made on the data subject's behalf (Act Art. 38(1), Decree Art. 45-46).

From the Contact Us form, the desk and the API: the representative is the requester (mail and the
status link go to them), the subject is mailed that a request was made in their name (not for a
complaint), the power of attorney is stored like any inbound file and bounded in type and size, and
``verify`` waits until the desk records how both the authority and the subject's identity were checked.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk import services
from helpdesk.models import AuditEvent, Representation, Ticket, User
from tests.api.conftest import token_client
from tests.channels.test_staff_intake import PDF, desk, phone_form
from tests.public.conftest import form_data

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture(autouse=True)
def _public(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"rep-{uuid.uuid4().hex}"}}
    settings.DESK_BASE_URL = "http://testserver"


def on_behalf(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"on_behalf": "on", "relation": "delegate", "relation_detail": "변호사",
                            "subject_name": "박정희", "subject_email": "subject@example.com",
                            "subject_phone": "010-9999-0000", "subject_birth_date": "1950-03-01",
                            "power_of_attorney": SimpleUploadedFile("위임장.pdf", PDF, content_type="application/pdf")}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_contact_us_for_someone_else(client: Client, admin_user: User, smtp_sink: Any,
                                     django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/", {**form_data(request_type="access", email="lawyer@example.com",
                                                    name="최변호"), **on_behalf()})
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.select_related("requester").get()
    assert ticket.requester.email == "lawyer@example.com"  # the representative gets the mail and the link
    rep = Representation.objects.select_related("power_of_attorney").get(ticket=ticket)
    assert (rep.relation, rep.subject_name, rep.subject_email) == ("delegate", "박정희", "subject@example.com")
    assert rep.power_of_attorney.filename == "위임장.pdf" and rep.power_of_attorney.file.read() == PDF
    assert rep.power_of_attorney.message.ticket_id == ticket.pk  # stored like any inbound file
    mails = smtp_sink.wait_for(3)  # acknowledgement + confirmation link to the representative, notice to the subject
    by_rcpt = {tuple(env.rcpt_tos): m for env, m in zip(smtp_sink.envelopes, mails, strict=True)}
    subject_mail = by_rcpt[("subject@example.com",)]
    assert "A request made in your name" in subject_mail["Subject"] and ticket.reference in subject_mail["Subject"]
    # A Contact Us address is not confirmed yet: the typed names are not relayed to a typed address.
    assert "최변호" not in subject_mail.get_content() and "박정희" not in subject_mail.get_content()
    assert "named once their address is confirmed" in subject_mail.get_content()
    to_lawyer = [m["Subject"] for env, m in zip(smtp_sink.envelopes, mails, strict=True)
                 if env.rcpt_tos == ["lawyer@example.com"]]
    assert any("Confirm your e-mail address" in s for s in to_lawyer)
    assert AuditEvent.objects.filter(ticket=ticket, action="representation.recorded").exists()


def test_verify_waits_for_both_checks(admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert desk(admin_user).post("/desk/tickets/new/", {**phone_form(), **on_behalf()}).status_code == 302
    ticket = Ticket.objects.get()
    with pytest.raises(services.GuardError) as refused:
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user,
                                   verification_method="id_document")
    assert "representation" in refused.value.errors
    page = desk(admin_user).get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert "Made by a representative" in page and "위임장.pdf" in page
    url = f"/en/desk/tickets/{ticket.reference}/representation/"
    response = desk(admin_user).post(url, {"authority_check": "other", "subject_check": "id_document"})
    assert response.status_code == 400 and "Describe how it was checked." in response.content.decode()
    response = desk(admin_user).post(url, {"authority_check": "power_of_attorney", "subject_check": "id_document",
                                           "check_note": "위임장 서명과 신분증 사본 대조"})
    assert response.status_code == 302
    rep = Representation.objects.get(ticket=ticket)
    assert rep.checked_by == admin_user and rep.authority_check == "power_of_attorney"
    services.transition_ticket(ticket=Ticket.objects.get(pk=ticket.pk), name="verify", actor=admin_user,
                               verification_method="id_document")
    assert Ticket.objects.get(pk=ticket.pk).state == "verified"
    assert AuditEvent.objects.filter(ticket=ticket, action="representation.checked").exists()


@pytest.mark.parametrize(("changes", "text"), [
    ({"power_of_attorney": None}, "must submit the data subject's power of attorney"),
    ({"power_of_attorney": SimpleUploadedFile("poa.pdf", b"MZ\x90\x00" + b"\x00" * 64)}, "must be a PDF or a photo"),
    ({"power_of_attorney": "big"}, "is larger than"),
    ({"subject_name": ""}, "Give the name of the person you act for."),
])
def test_bad_representation_gets_field_errors(admin_user: User, settings: Any, changes: dict[str, Any],
                                              text: str) -> None:
    if changes.get("power_of_attorney") == "big":
        settings.DESK_UPLOAD_MAX_BYTES = 1024
        changes = {"power_of_attorney": SimpleUploadedFile("poa.jpg", JPEG + b"\x00" * 2048)}
    response = desk(admin_user).post("/en/desk/tickets/new/", {**phone_form(), **on_behalf(**changes)})
    assert response.status_code == 400
    assert text in response.content.decode().replace("&#x27;", "'")
    assert not Ticket.objects.exists()


def test_legal_representative_without_a_document_and_a_complaint_is_not_announced(
        admin_user: User, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]) -> None:
    data = {**phone_form(request_type="complaint", requester_email="mother@example.com"),
            **on_behalf(relation="legal", power_of_attorney=None)}
    with django_capture_on_commit_callbacks(execute=True):
        assert desk(admin_user).post("/desk/tickets/new/", data).status_code == 302
    rep = Representation.objects.get()
    assert rep.subject_notice is None and rep.power_of_attorney is None
    assert all("subject@example.com" not in m.to for m in mailoutbox)
    assert [m.to for m in mailoutbox] == [["mother@example.com"]]  # the acknowledgement, to the representative


def test_api_representation(admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    client = token_client(admin_user)
    body = {"channel": "letter", "postal_address": "서울시 1", "subject": "대리 열람", "body_text": "위임받아 요청",
            "request_type": "access", "relation": "delegate", "subject_name": "박정희",
            "power_of_attorney": SimpleUploadedFile("poa.jpg", JPEG, content_type="image/jpeg")}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/tickets/", body, format="multipart")
    assert response.status_code == 201, response.content
    rep = response.json()["representation"]
    assert rep["relation"] == "delegate" and rep["power_of_attorney"]["content_type"] == "image/jpeg"
    assert rep["checked_at"] is None and rep["subject_told"] is False
    reference = response.json()["reference"]
    response = client.post(f"/api/v1/tickets/{reference}/transitions/verify/",
                           {"verification_method": "id_document"}, format="json")
    assert response.status_code == 400 and "representation" in response.json()["error"]["fields"]
    response = client.post(f"/api/v1/tickets/{reference}/representation-check/",
                           {"authority_check": "power_of_attorney", "subject_check": "phone_callback"}, format="json")
    assert response.status_code == 200 and response.json()["representation"]["checked_by"] == "moonwon.park"
    bad = client.post("/api/v1/tickets/", {**body, "power_of_attorney": None, "subject_name": "x"}, format="json")
    assert bad.status_code == 400 and "power_of_attorney" in bad.json()["error"]["fields"]
