"""The acknowledgements' marks after an intake batch (docs/intake.md, "Session 11"): one plain statement
per message, each in its own committed transaction; on PostgreSQL those commits do not wait for the
WAL flush, and the connection's setting is back to the server's afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.intake.batch import ingest_messages
from helpdesk.intake.ingest import Outcome
from helpdesk.models import Message
from tests.intake_e2e.mailgen import generate


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_marks_are_committed_one_by_one_without_waiting_for_the_disk(make_admin: Any, smtp_sink: Any) -> None:
    make_admin("moonwon.park")
    raws = [raw for raw in generate(12, run="marks") if b"In-Reply-To" not in raw]
    before = _setting() if connection.vendor == "postgresql" else ""
    with CaptureQueriesContext(connection) as queries:
        results = list(ingest_messages([(raw, str(n)) for n, raw in enumerate(raws)]))
    assert {r.outcome for r in results} == {Outcome.NEW_TICKET}
    assert set(Message.objects.filter(kind="acknowledgement").values_list("delivery_status", flat=True)) == {"sent"}
    assert len(smtp_sink.wait_for(len(raws))) == len(raws)
    sql = [q["sql"] for q in queries]
    marks = [i for i, s in enumerate(sql) if s.startswith("UPDATE") and 'SET "delivery_status"' in s]
    assert len(marks) == len(raws)
    if connection.vendor == "postgresql":
        assert before == "on" and _setting() == "on"  # the session is as it was
        switch_off = sql.index("SET synchronous_commit TO off")
        assert switch_off < marks[0] and marks[-1] < sql.index("RESET synchronous_commit")
    else:
        assert not any("synchronous_commit" in s for s in sql)
