"""Issue 28, point 7: the requester's data summary reads like words, not like a database.

Labels from the data sources file (source, table, column; a readable fallback), times in the desk's
time zone in the reader's format, the source's name and description, the keep-by-law reason with its
article in the reader's language — in the ZIP's summary.html, on the staff review page and on the
requester's own page (the signed status link; readable on a phone without unpacking the ZIP)."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.config import ConfigError, parse_sources
from helpdesk.fulfilment.models import AccessPackage
from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.public import tokens

pytestmark = pytest.mark.django_db


def labelled_toml(db: Path) -> str:
    return f"""
[[source]]
name = "demo-crm"
url = "sqlite:///{db}"
label = {{ ko = "고객 관리 시스템", en = "Customer records system" }}
description = {{ ko = "영업팀이 계약과 주문을 관리하는 시스템입니다.", en = "Where sales keeps contracts and orders." }}
time_zone = "UTC"
[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "created_at"]
erase = "delete"
label = {{ ko = "고객 정보", en = "Customer details" }}
[source.table.columns]
name = {{ ko = "이름", en = "Name" }}
email = {{ ko = "이메일", en = "E-mail" }}
created_at = {{ ko = "가입 일시", en = "Signed up" }}
[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
label = {{ ko = "주문 내역", en = "Orders" }}
keep_reason = {{ ko = "거래 기록은 5년간 보관해야 합니다.", en = "Transaction records must be kept for 5 years." }}
keep_law = {{ ko = "상법 제33조", en = "Commercial Act Art. 33" }}
"""


@pytest.fixture
def package(use_sources: Callable[[str], Path], crm_db: Path, verified_ticket: Callable[..., Ticket],
            admin_user: User, django_capture_on_commit_callbacks: Any) -> AccessPackage:
    with sqlite3.connect(crm_db) as db:  # SQLite's CURRENT_TIMESTAMP: UTC, no offset (time_zone = "UTC")
        db.execute("UPDATE customers SET created_at = '2026-03-01 15:30:00' WHERE email = 'requester@example.com'")
    use_sources(labelled_toml(crm_db))
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    built = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        return fulfilment.release_access_package(package=built, actor=admin_user)


def sections(html: str) -> dict[str, str]:
    """The summary's language sections, by their lang attribute."""
    found = {}
    for part in html.split('<section class="language" lang="')[1:]:
        found[part[:2]] = part.split("</section>", 1)[0]
    return found


def test_the_zip_summary_reads_in_words_in_both_languages(package: AccessPackage) -> None:
    with package.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        html = archive.read("summary.html").decode()
    ko, en = sections(html)["ko"], sections(html)["en"]
    assert "<h2>고객 관리 시스템</h2>" in ko and "영업팀이 계약과 주문을" in ko
    assert "<h2>Customer records system</h2>" in en and "Where sales keeps contracts" in en
    assert "demo-crm" not in ko + en and "created_at" not in ko + en
    assert '<th scope="col">가입 일시</th>' in ko and '<th scope="col">Signed up</th>' in en
    assert '<th scope="col">Phone</th>' in en  # no label: the name as words
    # 15:30 UTC on 1 March is 00:30 on 2 March in Seoul, written the reader's way.
    assert "2026년 3월 2일 12:30 오전" in ko and "March 2, 2026, 12:30 a.m." in en
    assert "2026-03-01 15:30" not in html
    assert "상법 제33조" in ko and "거래 기록은 5년간 보관해야 합니다." in ko and "Transaction records" not in ko
    assert "Commercial Act Art. 33" in en and "must be kept for 5 years" in en and "거래 기록은" not in en
    assert '<meta name="viewport"' in html and "@media (max-width:40rem)" in html  # a phone opens it too
    assert package.contents["presentation"]["demo-crm"]["label"] == {"ko": "고객 관리 시스템",
                                                                      "en": "Customer records system"}


def test_the_review_page_shows_what_the_requester_gets(package: AccessPackage, admin_user: User) -> None:
    desk = Client()
    desk.force_login(admin_user)
    page = desk.get(reverse("fulfilment:review_package", kwargs={"reference": package.ticket.reference,
                                                                 "pk": package.pk})).content.decode()
    assert "고객 관리 시스템" in page and "Customer records system" in page and "가입 일시" in page
    assert "fulfilment/summary.css" in page


@pytest.mark.parametrize(("prefix", "words", "not_words"), [
    ("", ["고객 관리 시스템", "가입 일시", "2026년 3월 2일 12:30 오전", "상법 제33조", 'data-label="이메일"'],
     ["Customer records system", "demo-crm"]),
    ("/en", ["Customer records system", "Signed up", "March 2, 2026, 12:30 a.m.", "Commercial Act Art. 33",
             'data-label="E-mail"'], ["고객 관리 시스템", "demo-crm"]),
])
def test_the_requester_reads_it_on_a_page_in_their_language(package: AccessPackage, prefix: str,
                                                             words: list[str], not_words: list[str]) -> None:
    token = tokens.status_token(package.ticket)
    status = Client().get(prefix + reverse("public:status", kwargs={"token": token}).removeprefix("/en"))
    page_url = reverse("fulfilment:requester_summary", kwargs={"token": token, "pk": package.pk})
    assert page_url.removeprefix("/en") in status.content.decode()
    response = Client().get(prefix + page_url.removeprefix("/en"))
    assert response.status_code == 200
    page = response.content.decode()
    for word in words:
        assert word in page
    for word in not_words:
        assert word not in page
    assert reverse("fulfilment:requester_download", kwargs={"token": token, "pk": package.pk}
                   ).removeprefix("/en") in page  # the ZIP stays
    assert AuditEvent.objects.filter(ticket=package.ticket, action="fulfilment.package_viewed").exists()


def test_the_page_opens_only_for_the_requesters_own_released_package(
        package: AccessPackage, make_ticket: Callable[..., Ticket]) -> None:
    other = make_ticket(email="someone.else@example.com")
    foreign = reverse("fulfilment:requester_summary", kwargs={"token": tokens.status_token(other), "pk": package.pk})
    assert Client().get(foreign).status_code == 404
    AccessPackage.objects.filter(pk=package.pk).update(status="draft")
    own = reverse("fulfilment:requester_summary", kwargs={"token": tokens.status_token(package.ticket),
                                                          "pk": package.pk})
    assert Client().get(own).status_code == 410


SQL = 'name = "crm"\nurl = "sqlite:///x.db"\n'


@pytest.mark.parametrize(("table", "message"), [
    ('label = { ko = "고객", fr = "Clients" }', "unknown language"),
    ('label = { ko = "Customers", en = "고객" }', "swap them"),
    ('label = { ko = "" }', "non-empty"),
    ('label = 5', "must be a string"),
    ('columns = { phone = "전화" }', "not in export: phone"),
    ('keep_law = "상법 제33조"', "only used with erase = 'keep'"),
    ('label = "two\\nlines"', "one line"),
])
def test_labels_are_checked(table: str, message: str) -> None:
    text = f'[[source]]\n{SQL}[[source.table]]\nname = "customers"\nmatch = "email"\nexport = ["name"]\n{table}\n'
    with pytest.raises(ConfigError, match=message):
        parse_sources(text)


def test_a_source_time_zone_is_checked_and_labels_read() -> None:
    with pytest.raises(ConfigError, match="not a time zone"):
        parse_sources(f'[[source]]\n{SQL}time_zone = "Mars/Olympus"\n[[source.table]]\nname = "t"\nmatch = "e"\n')
    [source] = parse_sources(f'[[source]]\n{SQL}label = "CRM"\n[[source.table]]\nname = "t"\nmatch = "e"\n'
                             'columns = { created_at = { ko = "가입일", en = "Signed up" } }\n')
    assert source.label.get("ko") == source.label.get("en") == "CRM"
    assert dict(source.tables[0].columns)["created_at"].get("ko") == "가입일"
