"""Issue 12.3: names, organisations, phone numbers and subjects stay on one line.

The form and the API refuse line breaks and control characters with a field error (in the person's
language); mail headers, which nobody can correct, are folded to spaces at intake. Either way the
plain-text acknowledgement never shows a forged ``Bcc:`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from helpdesk.models import Requester, Ticket, User
from helpdesk.oneline import fold
from tests.api.conftest import token_client
from tests.public.conftest import form_data

pytestmark = pytest.mark.django_db

EVIL = "Evil\r\nBcc: x@y.z"
BAD_VALUES = [EVIL, "Evil\nBcc: x@y.z", "Evil\rBcc: x@y.z", "Evil\u2028Bcc: x@y.z", "Evil\u2029x", "Evil\u0085x",
              "Evil\x1b[31mred", "Evil\tx", "Evil\x00x", "Evil\x7fx"]


def _no_forged_line(messages: list[Any]) -> None:
    for message in messages:
        assert not [line for line in message.body.splitlines() if line.lstrip().lower().startswith("bcc:")]
        assert "x@y.z" not in message.bcc and "x@y.z" not in message.to


@pytest.mark.parametrize("field", ["name", "phone", "organization"])
@pytest.mark.parametrize("value", [*BAD_VALUES[:5], "Evil\x1b[31mred"])
def test_contact_form_refuses_line_breaks(client: Client, field: str, value: str) -> None:
    response = client.post("/en/", form_data(**{field: value}))
    assert response.status_code == 400  # the form again with its errors, nothing filed
    assert field in response.context["form"].errors
    assert "single line" in response.context["form"].errors[field][0]
    assert not Ticket.objects.exists() and not mail.outbox


def test_contact_form_error_is_korean_on_the_korean_page(client: Client) -> None:
    response = client.post("/", form_data(name=EVIL))
    assert "한 줄" in response.context["form"].errors["name"][0]
    assert not Ticket.objects.exists()


def test_contact_form_guardian_name_too(client: Client) -> None:
    response = client.post("/en/", form_data(under_14="yes", guardian_name=EVIL, guardian_email="p@example.com"))
    assert "guardian_name" in response.context["form"].errors


@pytest.mark.parametrize("field", ["requester_name", "phone", "organization", "subject"])
@pytest.mark.parametrize("language, words", [("en", "single line"), ("ko", "한 줄")])
def test_api_refuses_line_breaks(admin_user: User, field: str, language: str, words: str) -> None:
    payload = {"requester_email": "caller@example.com", "requester_name": "김민수", "subject": "삭제 요청",
               "body_text": "여러 줄이어도\n괜찮은 본문", "request_type": "deletion", field: EVIL}
    response = token_client(admin_user).post("/api/v1/tickets/", payload, format="json",
                                             HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert words in error["fields"][field][0]
    assert not Ticket.objects.exists() and not mail.outbox


def test_api_keeps_the_body_multiline(admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(admin_user).post("/api/v1/tickets/", {
            "requester_email": "caller@example.com", "requester_name": "김민수", "subject": "삭제 요청",
            "body_text": "첫 줄\n둘째 줄", "request_type": "deletion"}, format="json")
    assert response.status_code == 201
    _no_forged_line(mail.outbox)


def test_mail_headers_are_folded_and_the_acknowledgement_has_no_forged_line(
        ingest: Callable[..., list[dict[str, Any]]]) -> None:
    raw = (
        b"From: =?utf-8?q?Evil=0D=0ABcc=3A_x=40y=2Ez=C2=9B31m?= <evil@example.com>\r\n"
        b"To: micube@micube.co.kr\r\n"
        b"Subject: =?utf-8?b?" + __import__("base64").b64encode("삭제 요청\u2028Bcc: x@y.z\x07".encode()) + b"?=\r\n"
        b"Message-ID: <oneline-1@example.com>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0900\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease delete my data.\r\n"
    )
    [line] = ingest(raw)
    assert line["outcome"] == "new_ticket"
    ticket = Ticket.objects.get(reference=line["ticket"])
    requester = Requester.objects.get(email="evil@example.com")
    assert requester.name == "Evil Bcc: x@y.z 31m"  # U+009B (CSI) folded like CR LF
    assert ticket.subject == "삭제 요청 Bcc: x@y.z"
    inbound = ticket.messages.get(direction="inbound")
    assert inbound.sender_name == requester.name and inbound.subject == ticket.subject
    acknowledgements = [m for m in mail.outbox if "evil@example.com" in m.to]
    assert acknowledgements, "the requester is acknowledged"
    _no_forged_line(acknowledgements)
    for message in acknowledgements:
        assert "\r" not in message.subject and "\n" not in message.subject


@pytest.mark.parametrize("value", BAD_VALUES)
def test_fold_leaves_one_line(value: str) -> None:
    folded = fold(value)
    assert folded == folded.strip() and "  " not in folded
    assert not any(ch in folded for ch in "\r\n\t\x00\x1b\x7f\u2028\u2029\u0085")


def test_fold_keeps_ordinary_text() -> None:
    assert fold("  홍길동  (MICUBE)  ") == "홍길동 (MICUBE)"
