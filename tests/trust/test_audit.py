"""The audit trail cannot be rewritten: the ORM and (on PostgreSQL) the database refuse; tampering shows."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from helpdesk.models import AuditEvent

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")


def _tamper(sql: str, params: list[Any]) -> None:
    """Raw-SQL tampering, as an attacker with database access would do it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE helpdesk_auditevent DISABLE TRIGGER helpdesk_auditevent_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE helpdesk_auditevent ENABLE TRIGGER helpdesk_auditevent_append_only")


def test_orm_refuses_update_and_delete(make_ticket: Any) -> None:
    ticket = make_ticket()
    event = AuditEvent.objects.filter(ticket=ticket).first()
    assert event is not None
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        event.save()


@pytest.mark.postgres
@postgres_only
def test_postgres_refuses_raw_update_and_delete(make_ticket: Any) -> None:
    ticket = make_ticket()
    event = AuditEvent.objects.filter(ticket=ticket).first()
    assert event is not None
    for sql in ("UPDATE helpdesk_auditevent SET action = 'forged' WHERE id = %s",
                "DELETE FROM helpdesk_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@pytest.mark.postgres
@postgres_only
def test_postgres_allows_delete_only_with_the_purge_setting(make_ticket: Any) -> None:
    ticket = make_ticket()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL privacy_desk.allow_audit_purge = 'on'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("UPDATE helpdesk_auditevent SET action = 'forged' WHERE ticket_id = %s", [ticket.pk])
        cursor.execute("DELETE FROM helpdesk_auditevent WHERE ticket_id = %s", [ticket.pk])
    assert not AuditEvent.objects.filter(ticket=ticket).exists()


def test_verify_audit_passes_on_an_intact_trail(make_ticket: Any, manager: Any) -> None:
    from helpdesk import services

    ticket = make_ticket()
    services.add_note(ticket=ticket, author=manager, body_text="checked")
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "0 problem(s)" in out.getvalue()


def test_verify_audit_reports_a_tampered_row(make_ticket: Any, manager: Any) -> None:
    from helpdesk import services

    ticket = make_ticket()
    services.add_note(ticket=ticket, author=manager, body_text="checked")
    event = AuditEvent.objects.filter(ticket=ticket).order_by("seq").first()
    assert event is not None
    _tamper("UPDATE helpdesk_auditevent SET actor_label = %s WHERE id = %s", ["someone else", event.pk])
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=out)
    assert excinfo.value.returncode == 1
    assert f"tampered: {ticket.reference} #{event.seq}" in out.getvalue()


def test_verify_audit_reports_a_missing_row(make_ticket: Any, manager: Any) -> None:
    from helpdesk import services

    ticket = make_ticket()
    services.add_note(ticket=ticket, author=manager, body_text="one")
    services.add_note(ticket=ticket, author=manager, body_text="two")
    middle = AuditEvent.objects.filter(ticket=ticket).order_by("seq")[1]
    _tamper("DELETE FROM helpdesk_auditevent WHERE id = %s", [middle.pk])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit", "--json", stdout=out)
    assert '"kind": "missing"' in out.getvalue()
    assert ticket.reference in out.getvalue()
