"""The Contact Us form: validation, refusals, and the ticket it files through the services."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk.models import Attachment, AuditEvent, Channel, Direction, MessageKind, Ticket, WebRequestDetails
from tests.public.conftest import form_data, links_in, mails_to

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_form_renders_in_korean_by_default_and_english_under_en(client: Client) -> None:
    korean = client.get("/")
    assert korean.status_code == 200
    assert b'<html lang="ko">' in korean.content
    assert b'name="csrfmiddlewaretoken"' in korean.content
    english = client.get("/en/")
    assert b'<html lang="en">' in english.content
    text = english.content.decode()
    # Each right is explained in one plain line, and the consent quotes the policy.
    assert "See what personal information we hold about you." in text
    assert "Information collected" in text and "Responding to your request" in text
    assert 'href="/en/privacy-policy/"' in text
    assert 'action="/i18n/setlang/"' in text


def test_korean_page_is_translated(client: Client, public_locale_dir: Any) -> None:
    text = client.get("/").content.decode()
    assert "개인정보" in text and "동의합니다" in text


def test_privacy_policy_page_serves_the_policy(client: Client) -> None:
    text = client.get("/en/privacy-policy/").content.decode()
    assert "Personal Information Protection Administrators" in text
    assert "Park Moonwon" in text


def test_missing_fields_are_reported_next_to_each_field(client: Client) -> None:
    response = client.post("/en/", {"website": ""})
    assert response.status_code == 400
    text = response.content.decode()
    for field in ("request_type", "name", "email", "description", "under_14", "consent"):
        assert f'id="id_{field}_error"' in text, field
    assert 'aria-invalid="true"' in text
    assert Ticket.objects.count() == 0


def test_consent_is_required(submit: Any) -> None:
    response = submit("/en/", consent=None)
    assert response.status_code == 400
    assert "We can only take your request if you agree" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_under_14_needs_guardian_name_and_a_different_email(submit: Any) -> None:
    response = submit("/en/", under_14="yes")
    text = response.content.decode()
    assert response.status_code == 400
    assert "Enter your legal guardian&#x27;s name." in text
    assert "Enter your legal guardian&#x27;s e-mail address." in text
    response = submit("/en/", under_14="yes", guardian_name="Kim", guardian_email="MINJI@example.com")
    assert "must be different from yours" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_honeypot_refuses_with_a_message(submit: Any) -> None:
    response = submit("/en/", website="http://spam.example")
    assert response.status_code == 400
    assert "This field must stay empty." in response.content.decode()
    assert Ticket.objects.count() == 0
    assert mail.outbox == []


def test_submission_files_a_web_ticket_like_email_intake(submit: Any, admin_user: Any) -> None:
    response = submit()
    assert response.status_code == 302 and response["Location"] == "/submitted/"
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WEB
    assert ticket.request_type == "deletion"
    assert ticket.state == "received"
    assert ticket.assignee == admin_user  # same automatic assignment as mail
    assert ticket.requester.email == "minji@example.com"
    assert ticket.requester.phone == "010-1234-5678"
    assert ticket.requester.language == "ko"
    first = ticket.messages.get(direction=Direction.INBOUND)
    assert "삭제해 주세요" in first.body_text
    # Same acknowledgement as an e-mail request, plus the confirmation link mail.
    assert ticket.messages.filter(kind=MessageKind.ACKNOWLEDGEMENT).exists()
    to_requester = mails_to("minji@example.com")
    subjects = [m.subject for m in to_requester]
    assert any("Request received" in s for s in subjects)
    verification = next(m for m in to_requester if "Confirm your e-mail address" in m.subject)
    assert f"[{ticket.reference}]" in verification.subject
    assert verification.extra_headers["Auto-Submitted"] == "auto-generated"
    links = links_in(verification)
    assert links["confirm"].startswith("/confirm/") and links["request"].startswith("/request/")
    actions = list(AuditEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert actions[:1] == ["ticket.created"]
    assert "ticket.assigned" in actions and "requester.consent_given" in actions
    details = WebRequestDetails.objects.get(ticket=ticket)
    assert details.consent_at is not None and details.consent_text_version
    assert not details.is_minor


def test_thank_you_page_shows_reference(client: Client, submit: Any) -> None:
    submit("/en/")
    page = client.get("/en/submitted/")
    ticket = Ticket.objects.get()
    assert ticket.reference in page.content.decode()
    assert ticket.requester.language == "en"


def test_english_submission_mails_english_links(submit: Any) -> None:
    submit("/en/", email="en@example.com")
    verification = next(m for m in mails_to("en@example.com") if "Confirm" in m.subject)
    assert links_in(verification)["confirm"].startswith("/en/confirm/")
    assert verification.body.startswith("Dear ")


def test_under_14_sends_guardian_mail_and_records_it(submit: Any) -> None:
    submit("/en/", under_14="yes", guardian_name="Kim Parent", guardian_email="parent@example.com")
    ticket = Ticket.objects.get()
    details = ticket.web_details
    assert details.is_minor and details.guardian_email == "parent@example.com"
    guardian_mail = mails_to("parent@example.com")
    assert len(guardian_mail) == 1
    assert "guardian" in guardian_mail[0].subject
    links = links_in(guardian_mail[0])
    assert "guardian" in links and "request" not in links  # the child's status page stays private


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_attachments_are_stored_with_sniffed_type(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/", {**form_data(), "attachments": [
            upload("id-card.pdf", PDF, "image/png"),  # the browser's claim is ignored
            upload("photo.png", PNG, "application/pdf"),
        ]})
    assert response.status_code == 302
    stored = {a.filename: a.content_type for a in Attachment.objects.all()}
    assert stored == {"id-card.pdf": "application/pdf", "photo.png": "image/png"}


def test_attachment_refusals_are_clear_and_file_nothing(client: Client, settings: Any) -> None:
    settings.DESK_UPLOAD_MAX_BYTES = 1000
    exe = upload("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")
    big = upload("big.pdf", PDF + b"0" * 2000, "application/pdf")
    response = client.post("/en/", {**form_data(), "attachments": [exe, big]})
    assert response.status_code == 400
    text = response.content.decode()
    assert "“invoice.pdf” is not a file type we accept." in text
    assert "“big.pdf” is larger than" in text
    assert 'id="id_attachments_error"' in text
    assert Ticket.objects.count() == 0


def test_at_most_five_attachments(client: Client) -> None:
    files = [upload(f"f{i}.pdf", PDF) for i in range(6)]
    response = client.post("/en/", {**form_data(), "attachments": files})
    assert response.status_code == 400
    assert "Attach at most 5 files." in response.content.decode()


def test_oversized_request_gets_a_translated_page_not_a_500(client: Client, settings: Any) -> None:
    settings.DESK_PUBLIC_MAX_REQUEST_BYTES = 10_000
    response = client.post("/en/", {**form_data(), "attachments": [upload("a.pdf", PDF + b"0" * 20_000)]})
    assert response.status_code == 413
    assert "What you sent is too large" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_too_much_form_data_is_the_same_clear_page(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = urlencode(form_data(description="x" * 5000))
    response = client.post("/en/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert Ticket.objects.count() == 0


def test_csrf_is_enforced() -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/en/", form_data())
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_rate_limit_per_ip_is_a_clear_429_and_keeps_earlier_requests(submit: Any, settings: Any) -> None:
    settings.DESK_RATE_SUBMIT_IP = "2/h"
    assert submit("/en/", email="a@example.com").status_code == 302
    assert submit("/en/", email="b@example.com").status_code == 302
    refused = submit("/en/", email="c@example.com", name="Typed Name")
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many attempts" in text
    assert 'value="Typed Name"' in text  # what was typed is kept on the page
    assert Ticket.objects.count() == 2  # nothing already accepted is lost


def test_rate_limit_per_email_address(submit: Any, settings: Any) -> None:
    settings.DESK_RATE_SUBMIT_EMAIL = "1/h"
    assert submit("/en/", email="same@example.com").status_code == 302
    assert submit("/en/", email="SAME@example.com").status_code == 429
    assert submit("/en/", email="other@example.com").status_code == 302
    assert Ticket.objects.count() == 2


def test_korean_rate_limit_page_is_korean(submit: Any, settings: Any, public_locale_dir: Any) -> None:
    settings.DESK_RATE_SUBMIT_IP = "1/h"
    submit("/")
    refused = submit("/")
    assert refused.status_code == 429
    assert "요청이 너무 많" in refused.content.decode()


def test_files_must_be_chosen_again_after_an_error_and_the_summary_takes_focus(client: Client) -> None:
    """Issue 28: a browser never refills a file field, so the page says which files to choose again,
    and the error summary takes the focus (autofocus: no script needed)."""
    response = client.post("/en/", {**form_data(name=""), "attachments": [
        upload("id-card.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")]})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Your files were not kept: please choose them again." in body and "id-card.png" in body
    assert re.search(r'<div class="alert alert-error" role="alert" tabindex="-1" id="form-errors" autofocus>', body)
    without_files = client.post("/en/", form_data(name="")).content.decode()
    assert "choose them again" not in without_files
