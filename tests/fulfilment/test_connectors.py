"""Connectors against real sources: a SQLite file and an HTTP service on loopback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpdesk.fulfilment.config import ConfigError, parse_sources
from helpdesk.fulfilment.connectors import SourceError, connector, lookup_all, lookup_source
from tests.fulfilment.conftest import HttpService, crm_toml, http_toml


def test_sqlite_lookup_is_case_insensitive_and_exports_only_the_listed_columns(crm_db: Path) -> None:
    (source,) = parse_sources(crm_toml(crm_db))
    result = lookup_source(source, "JANE.doe@EXAMPLE.com")
    assert result["error"] is None
    tables = {t["name"]: t for t in result["tables"]}
    assert tables["customers"]["records"] == [
        {"name": "Jane Doe", "email": "Jane.Doe@example.com", "phone": "+1 555 0100", "company": "Acme Corp"}]
    assert tables["orders"]["erase"] == "keep" and len(tables["orders"]["records"]) == 1
    assert tables["orders"]["keep_reason"] == "Commercial Act: transaction records 5 years"
    assert tables["newsletter"]["records"][0]["email"] == "JANE.DOE@example.com"


@pytest.mark.parametrize("email", [
    "' OR '1'='1", "x@example.com' OR 1=1 --", "%@example.com", "_%",
    "requester@example.com'; DROP TABLE customers; --",
    "\" OR \"\"=\"", "requester@example.com\x00",
])
def test_injection_in_the_address_matches_nothing_and_changes_nothing(crm_db: Path, email: str) -> None:
    (source,) = parse_sources(crm_toml(crm_db))
    result = lookup_source(source, email)
    assert result["error"] is None
    assert all(t["records"] == [] for t in result["tables"])
    assert connector(source).erase_table(email, source.tables[0]) == 0
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 5


@pytest.mark.parametrize("table", ["customers; DROP TABLE orders", 'customers" --'])
def test_injection_in_a_table_name_is_refused_when_the_file_is_read(crm_db: Path, table: str) -> None:
    """Table names are checked like source names (issue 25.16), before any database sees them."""
    with pytest.raises(ConfigError, match="table name may use"):
        parse_sources(f'[[source]]\nname="crm"\nurl="sqlite:///{crm_db}"\n[[source.table]]\n'
                      f"name = '''{table}'''\nmatch = 'email'\nerase = \"delete\"\n")


@pytest.mark.parametrize(("table", "match", "error"), [
    ("customers", "email) OR 1=1 --", "has no column(s) email) OR 1=1 --"),
    ("customers", "lower(email)", "has no column(s)"),
])
def test_injection_in_the_config_is_refused_against_the_reflected_schema(
        crm_db: Path, table: str, match: str, error: str) -> None:
    (source,) = parse_sources(f'[[source]]\nname="crm"\nurl="sqlite:///{crm_db}"\n[[source.table]]\n'
                              f"name = '''{table}'''\nmatch = '''{match}'''\nerase = \"delete\"\n")
    result = lookup_source(source, "requester@example.com")
    assert error in result["error"]
    with pytest.raises(SourceError):
        connector(source).erase_table("requester@example.com", source.tables[0])
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 4
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 5


def test_an_export_column_missing_from_the_schema_is_named(crm_db: Path) -> None:
    text = crm_toml(crm_db).replace('"company"]', '"company", "birthday"]')
    (source,) = parse_sources(text)
    assert "has no column(s) birthday" in lookup_source(source, "requester@example.com")["error"]


def test_a_missing_sqlite_file_is_an_error_not_a_new_empty_database(tmp_path: Path) -> None:
    (source,) = parse_sources(crm_toml(tmp_path / "gone.sqlite3"))
    assert "does not exist" in lookup_source(source, "a@b.c")["error"]
    assert not (tmp_path / "gone.sqlite3").exists()


def test_sqlite_erasure_modes(crm_db: Path) -> None:
    (source,) = parse_sources(crm_toml(crm_db).replace('erase = "delete"', 'erase = "anonymize"\n'
                                                        'anonymize = ["name", "phone", "company"]'))
    sql = connector(source)
    customers, _orders, newsletter = source.tables
    assert sql.erase_table("REQUESTER@example.com", customers) == 1
    assert sql.erase_table("requester@example.com", newsletter) == 1
    with sqlite3.connect(crm_db) as db:
        # name is NOT NULL text: blanked to ''; phone and company are nullable: NULL.
        assert db.execute("SELECT name, phone, company FROM customers WHERE email = 'requester@example.com'"
                          ).fetchone() == ("", None, None)
        assert db.execute("SELECT subscribed FROM newsletter WHERE email = 'requester@example.com'").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 5  # nobody else touched


def test_http_source_finds_and_erases_with_the_bearer_token(http_service: HttpService) -> None:
    (source,) = parse_sources(http_toml(http_service))
    result = lookup_source(source, "Requester@Example.com")
    assert result == {"name": "newsletter", "kind": "http", "error": None, "tables": [
        {"name": "records", "records": [{"list": "product-news", "subscribed_at": "2025-05-01"}], "erase": "delete"}]}
    assert http_service.calls[-1] == {"auth": f"Bearer {http_service.token}", "action": "find",
                                      "email": "requester@example.com"}
    assert connector(source).erase_table("requester@example.com", source.tables[0]) == 1
    assert http_service.records == {}


def test_http_wrong_token_slow_down_or_broken_service_fails_with_a_clear_error(http_service: HttpService) -> None:
    (source,) = parse_sources(http_toml(http_service).replace(http_service.token, "wrong"))
    assert lookup_source(source, "a@b.c")["error"] == "the service answered HTTP 401"
    assert "wrong" not in str(lookup_source(source, "a@b.c"))  # the token never appears in errors
    (source,) = parse_sources(http_toml(http_service, timeout=0.5))
    http_service.delay = 2
    started = time.monotonic()
    assert lookup_source(source, "a@b.c")["error"] == "timed out"
    assert time.monotonic() - started < 1.9
    http_service.delay, http_service.status = 0, 500
    assert lookup_source(source, "a@b.c")["error"] == "the service answered HTTP 500"
    http_service.stop()
    assert "ConnectError" in lookup_source(source, "a@b.c")["error"]


def test_one_source_down_fails_alone(crm_db: Path, http_service: HttpService) -> None:
    down = '[[source]]\nname="down"\nurl="postgresql://nobody@127.0.0.1:1/none"\nconnect_timeout=1\n' \
           '[[source.table]]\nname="t"\nmatch="email"\n'
    sources = parse_sources(crm_toml(crm_db) + down + http_toml(http_service))
    result = lookup_all(sources, "requester@example.com")
    by_name = {s["name"]: s for s in result["sources"]}
    assert [s["name"] for s in result["sources"]] == ["crm", "down", "newsletter"]
    assert by_name["crm"]["error"] is None and by_name["newsletter"]["error"] is None
    assert by_name["down"]["error"] and by_name["down"]["tables"] == []


def test_the_drivers_load_only_when_a_source_is_used() -> None:
    """Every desk process loads the app (the MTA pipe starts one per mail): SQLAlchemy and httpx
    cost it ~0.7 s, so they are imported by the first lookup, not at start-up."""
    code = ("import sys, django; django.setup(); import helpdesk.intake.batch, helpdesk.fulfilment.services; "
            "print(sorted(m for m in ('sqlalchemy', 'httpx') if m in sys.modules))")
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DESK_LOCMEM_CACHE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
