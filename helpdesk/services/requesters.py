"""Requesters (found by address) and the human ticket references ``PRIV-YYYY-NNNN``."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import CharField

from helpdesk.models import Requester, TicketCounter
from workflows.calendar import local_date


def normalize_email(email: str) -> str:
    return email.strip().lower()


def fill_in_requester(requester: Requester, *, name: str = "", phone: str = "", organization: str = "") -> list[str]:
    """Details the requester gives now but did not give before; returns the changed fields."""
    changed = []
    for attr, value in (("name", name), ("phone", phone), ("organization", organization)):
        if value and not getattr(requester, attr):
            setattr(requester, attr, value[:_max_length(attr)])  # the column's own limit (phone: 50)
            changed.append(attr)
    return changed


def _max_length(attr: str) -> int:
    field = Requester._meta.get_field(attr)
    assert isinstance(field, CharField) and field.max_length is not None
    return field.max_length


def reserve_references(received_at: datetime, count: int) -> list[str]:
    """``count`` consecutive references for the year of ``received_at``, in one statement."""
    year = local_date(received_at).year
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    # One statement in the common case; the UPDATE's row lock serialises concurrent creators.
    sql = f"UPDATE {table} SET last_number = last_number + %s WHERE year = %s RETURNING last_number"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, year])
        row = cursor.fetchone()
        if row is None:  # first ticket of the year
            TicketCounter.objects.bulk_create([TicketCounter(year=year, last_number=0)], ignore_conflicts=True)
            cursor.execute(sql, [count, year])
            row = cursor.fetchone()
    last = row[0]
    return [f"PRIV-{year}-{number:04d}" for number in range(last - count + 1, last + 1)]
