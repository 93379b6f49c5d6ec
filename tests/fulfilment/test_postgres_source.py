"""A real PostgreSQL database as the company's CRM: a separate database with a read-only role for
lookups and a writer role for erasure; statement timeouts; a connection killed mid-erasure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpdesk import services
from helpdesk.fulfilment import erasure as fulfilment_erasure
from helpdesk.fulfilment import selectors
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.config import parse_sources
from helpdesk.fulfilment.connectors import SourceError, connector, lookup_source
from helpdesk.fulfilment.models import ErasureStatus, StepStatus
from helpdesk.models import Ticket, User
from tests.fulfilment.conftest import PgSource, pg_toml


def test_lookup_with_the_read_only_role(pg_source: PgSource) -> None:
    (source,) = parse_sources(pg_toml(pg_source))
    result = lookup_source(source, "requester@EXAMPLE.com")
    assert result["error"] is None
    tables = {t["name"]: t["records"] for t in result["tables"]}
    assert [r["name"] for r in tables["customers"]] == ["홍길동"]
    assert tables["customers"][0]["created_at"].endswith("+00:00")  # timestamptz as ISO 8601
    assert tables["orders"] == [{"id": 1, "customer_email": "requester@example.com", "amount": "129000.00",
                                 "ordered_at": "2025-03-14"}]
    assert tables["marketing"][0]["opted_in"] is True


def test_the_reader_cannot_erase(pg_source: PgSource) -> None:
    (source,) = parse_sources(pg_toml(pg_source).replace(f'erase_url = "{pg_source.url(pg_source.writer)}"\n', ""))
    with pytest.raises(SourceError, match="permission denied"):
        connector(source).erase_table("requester@example.com", source.tables[0])
    with pg_source.admin() as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 3


@pytest.mark.parametrize("email", ["' OR '1'='1", "requester@example.com' --", "%", "requester@example.com\\"])
def test_injection_in_the_address_against_postgresql(pg_source: PgSource, email: str) -> None:
    (source,) = parse_sources(pg_toml(pg_source))
    result = lookup_source(source, email)
    assert result["error"] is None and all(t["records"] == [] for t in result["tables"])
    assert connector(source).erase_table(email, source.tables[0]) == 0
    with pg_source.admin() as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 3


def test_statement_timeout_fails_the_source(pg_source: PgSource) -> None:
    with pg_source.admin() as db:
        db.execute("CREATE VIEW slow_customers AS SELECT c.*, pg_sleep(3) IS NULL AS slept FROM customers c")
        db.execute(f'GRANT SELECT ON slow_customers TO "{pg_source.reader}"')
    text = pg_toml(pg_source, statement_timeout=0.5).replace('name = "customers"', 'name = "slow_customers"', 1)
    (source,) = parse_sources(text)
    started = time.monotonic()
    result = lookup_source(source, "requester@example.com")
    assert "statement timeout" in result["error"]
    assert time.monotonic() - started < 2.5


def test_anonymize_with_the_writer(pg_source: PgSource) -> None:
    (source,) = parse_sources(pg_toml(pg_source))
    marketing = source.table("marketing")
    assert marketing is not None
    assert connector(source).erase_table("Requester@example.com", marketing) == 1
    with pg_source.admin() as db:
        # email is the NOT NULL primary key: blanked to ''; phone is nullable: NULL.
        assert db.execute("SELECT email, phone, opted_in FROM marketing ORDER BY email").fetchall() == [
            ("", None, True), ("jane.doe@example.com", None, True)]
    assert connector(source).erase_table("requester@example.com", marketing) == 0  # nothing matches any more


@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_mid_erasure_leaves_a_correct_partial_state_and_a_retry_finishes(
        pg_source: PgSource, use_sources: Callable[[str], Path], verified_ticket: Callable[..., Ticket],
        admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    use_sources(pg_toml(pg_source))
    ticket = verified_ticket("deletion")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    plan = fulfilment_erasure.preview_erasure(ticket=ticket, actor=admin_user)
    assert [(s.table, s.action) for s in plan.steps.all()] == [
        ("customers", "delete"), ("orders", "keep"), ("marketing", "anonymize")]
    # The marketing table's update hangs in a trigger; we kill the writer's connection meanwhile.
    with pg_source.admin() as db:
        db.execute("""CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
                      $$ BEGIN PERFORM pg_sleep(20); RETURN NEW; END $$;
                      CREATE TRIGGER slow BEFORE UPDATE ON marketing FOR EACH ROW EXECUTE FUNCTION slow();""")
    killed: list[int] = []

    def kill() -> None:
        deadline = time.monotonic() + 15
        with pg_source.admin() as db:
            while time.monotonic() < deadline and not killed:
                rows = db.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s AND query LIKE 'UPDATE%%'",
                                  [pg_source.writer]).fetchall()
                for (pid,) in rows:
                    db.execute("SELECT pg_terminate_backend(%s)", [pid])
                    killed.append(pid)
                time.sleep(0.05)

    killer = threading.Thread(target=kill)
    killer.start()
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    killer.join()
    assert killed
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.PARTIAL
    steps = {s.table: s for s in plan.steps.all()}
    assert steps["customers"].status == StepStatus.DONE and steps["customers"].affected == 1
    assert steps["orders"].status == StepStatus.KEPT
    assert steps["marketing"].status == StepStatus.FAILED and steps["marketing"].error
    with pg_source.admin() as db:
        assert db.execute("SELECT count(*) FROM customers WHERE lower(email) = 'requester@example.com'"
                          ).fetchone()[0] == 0
        # The killed transaction rolled back at the source: the row is as it was.
        assert db.execute("SELECT phone FROM marketing WHERE lower(email) = 'requester@example.com'"
                          ).fetchone() == ("010-1234-5678",)
        db.execute("DROP TRIGGER slow ON marketing")
        # Meanwhile the person signs up again: the done table must not be erased a second time.
        db.execute("INSERT INTO customers (name, email) VALUES ('홍길동', 'requester@example.com')")
    assert selectors.processing_blocker(ticket) is not None
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_erasure.retry_erasure(plan=plan, actor=admin_user)
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE
    assert plan.steps.get(table="marketing").affected == 1
    with pg_source.admin() as db:
        assert db.execute("SELECT count(*) FROM customers WHERE email = 'requester@example.com'").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM marketing WHERE phone = '010-1234-5678'").fetchone()[0] == 0
    ticket.refresh_from_db()
    services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="Erased in the CRM")
