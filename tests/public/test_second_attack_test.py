"""Issue 25 (second outside attack test), requester side: control characters in a Contact Us subject
(25.8), no-store on the pages that carry a link or typed data (25.13), the same work for a known and
an unknown address on the lost-link page (25.14)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import Ticket, User
from helpdesk.public import tokens
from tests.hardening.test_no_store import assert_no_store
from tests.public.conftest import form_data

pytestmark = pytest.mark.django_db

HOSTILE_FIRST_LINE = "\x1b[2J\x07Refund \u202eexe.pdf\u200b now"


def test_a_contact_us_subject_carries_no_control_or_invisible_characters(submit: Any) -> None:
    response = submit(description=HOSTILE_FIRST_LINE + "\nThe rest of my request.")
    assert response.status_code == 302
    subject = Ticket.objects.get().subject
    assert subject.endswith(": [2JRefund exe.pdf now"), subject
    assert not any(ch in subject for ch in "\x1b\x07\u202e\u200b")


def test_the_xlsx_export_survives_any_control_character_stored_in_a_subject(
    make_ticket: Callable[..., Ticket], manager: User, client: Client
) -> None:
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(subject=HOSTILE_FIRST_LINE + "\x01\x1f")  # stored before the fix
    client.force_login(manager)
    response = client.get("/desk/dashboard/export/tickets/?file_format=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    texts = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert "␛[2J␇Refund \u202eexe.pdf\u200b now␁␟" in texts  # each control shown as its picture


def test_the_package_pages_the_lost_link_result_and_a_form_with_typed_data_are_not_kept(
    make_ticket: Callable[..., Ticket], client: Client
) -> None:
    token = tokens.status_token(make_ticket())
    missing_package = client.get(reverse("fulfilment:requester_download", kwargs={"token": token, "pk": 999_999}))
    assert missing_package.status_code == 404
    assert_no_store(missing_package)
    result = client.post("/en/lost-link/", {"email": "someone@example.com", "website": ""})
    assert result.status_code == 200
    assert_no_store(result)
    rerendered = client.post("/en/", form_data(email="not-an-address", description="my private story"))
    assert rerendered.status_code == 400 and b"my private story" in rerendered.content
    assert_no_store(rerendered)
    empty_form = client.get("/en/")
    assert "no-store" not in empty_form.get("Cache-Control", "")  # the empty form stays cacheable


def _lost_link_work(client: Client, address: str, capture: Any) -> tuple[int, int]:
    """(queries, tasks queued after commit) of one lost-link post."""
    with CaptureQueriesContext(connection) as queries, capture(execute=False) as callbacks:
        response = client.post("/en/lost-link/", {"email": address, "website": ""})
    assert response.status_code == 200
    return len(queries), len(callbacks)


def test_the_lost_link_page_does_the_same_work_for_a_known_and_an_unknown_address(
    make_ticket: Callable[..., Ticket], client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    known = make_ticket().requester.email
    _lost_link_work(client, "warm-up@example.com", django_capture_on_commit_callbacks)  # session, caches
    work_known = _lost_link_work(client, known, django_capture_on_commit_callbacks)
    work_unknown = _lost_link_work(client, "nobody-here@example.com", django_capture_on_commit_callbacks)
    assert work_known == work_unknown
    assert work_known[1] == 1  # the task that looks the address up, queued for both
