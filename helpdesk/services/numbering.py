"""The serialised tail of opening tickets: final references and assignees, taken as late as possible.

A new ticket is written with a provisional reference (``~`` and 31 random hex digits, never shown:
it is replaced before the transaction commits) and no assignee; its first message, attachments and
acknowledgement are written and rendered outside any lock. Only then does :func:`number_and_assign`
take the two shared locks — the per-year reference counter row and the administrators' rows — and
fill in both with one UPDATE, so concurrent submissions queue for a few statements and the COMMIT,
not for a whole request (issue 31: the counter row was held from the first statement to COMMIT).

References stay gap-free and unique (the counter is transactional: a rolled-back submission gives
its number back) and the year is that of the ticket's receipt in the desk's time zone, as before.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from helpdesk.models import Ticket, User
from helpdesk.services.assignment import deal_assignees
from helpdesk.services.requesters import reserve_references
from workflows.calendar import local_date

PROVISIONAL = "~"


def provisional_reference() -> str:
    """A unique stand-in for the reference until :func:`number_and_assign` (32 characters, the column's size)."""
    return PROVISIONAL + uuid.uuid4().hex[:31]


def references_for(received: Sequence[datetime]) -> list[str]:
    """One reserved block of references per year, handed out in order."""
    years: dict[int, list[int]] = defaultdict(list)
    for n, received_at in enumerate(received):
        years[local_date(received_at).year].append(n)
    references = [""] * len(received)
    for _year, positions in sorted(years.items()):  # counters locked in year order: no deadlock at New Year
        block = reserve_references(received[positions[0]], len(positions))
        for position, reference in zip(positions, block, strict=True):
            references[position] = reference
    return references


def number_and_assign(tickets: Sequence[Ticket]) -> dict[str, str]:
    """Give stored ``tickets`` their references and assignees (locks: counter, then administrators).

    Returns provisional → final reference, for text rendered before the numbers were known."""
    if not tickets:
        return {}
    references = references_for([ticket.received_at for ticket in tickets])
    assignees = deal_assignees(len(tickets))
    final: dict[str, str] = {}
    rows: list[tuple[int, str, int | None, int]] = []
    for ticket, reference, assignee in zip(tickets, references, assignees, strict=True):
        final[ticket.reference] = reference
        ticket.reference = reference
        ticket.assignee = assignee
        ticket.version += assignee is not None  # an assignment advances it
        rows.append((ticket.pk, reference, assignee.pk if assignee else None, ticket.version))
    _update_tickets(rows)
    for user in {assignee.pk: assignee for assignee in assignees if assignee is not None}.values():
        User.objects.filter(pk=user.pk).update(last_assigned_at=user.last_assigned_at)
    return final


def _update_tickets(rows: list[tuple[int, str, int | None, int]]) -> None:
    """One UPDATE … FROM (VALUES …) for the whole list (PostgreSQL and SQLite ≥ 3.33)."""
    table = connection.ops.quote_name(Ticket._meta.db_table)
    for start in range(0, len(rows), 250):
        chunk = rows[start:start + 250]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        sql = (f"UPDATE {table} SET reference = v.column2, assignee_id = CAST(v.column3 AS bigint), "  # noqa: S608
               f"version = CAST(v.column4 AS integer) FROM (VALUES {values}) AS v "
               f"WHERE {table}.id = CAST(v.column1 AS bigint)")
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])
