"""Two ``ingest_email`` processes fed the same 520 messages at once: each message filed exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.intake_e2e.conftest import ROOT, DeskDatabase
from tests.intake_e2e.mailgen import generate


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_file_every_message_exactly_once(desk_database: DeskDatabase, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and a unique index shared by two processes)")
    messages = generate(520, seed=11, run="race")  # three batches each
    files = []
    for n, raw in enumerate(messages):
        path = tmp_path / f"{n:03d}.eml"
        path.write_bytes(raw)
        files.append(str(path))
    command = [sys.executable, str(ROOT / "manage.py"), "ingest_email", *files]
    procs = [subprocess.Popen(command, env=desk_database.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=ROOT) for _ in range(2)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
    runs = [[json.loads(line) for line in out.decode().splitlines()] for out, _err in outputs]
    assert [len(run) for run in runs] == [len(messages)] * 2

    filed_by: dict[str, list[str]] = {}
    for run in runs:
        for line in run:
            filed_by.setdefault(str(line["source"]), []).append(str(line["outcome"]))
    for source, outcomes in filed_by.items():
        real = [o for o in outcomes if o in ("new_ticket", "follow_up")]
        assert len(real) == 1 and outcomes.count("duplicate") == 1, (source, outcomes)
    # Both processes name the same ticket for every message.
    for a, b in zip(*runs, strict=True):
        assert a["ticket"] == b["ticket"], (a, b)

    new_tickets = sum(o.count("new_ticket") for o in filed_by.values())
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == new_tickets
    assert desk_database.scalar(
        "SELECT COUNT(*) FROM helpdesk_message WHERE direction = 'inbound' AND dedupe_key LIKE 'mid:race.%%'"
    ) == len(messages)
    # Each acknowledgement once per new ticket, never twice.
    assert desk_database.scalar(
        "SELECT COUNT(*) FROM (SELECT ticket_id FROM helpdesk_message WHERE kind = 'acknowledgement' "
        "GROUP BY ticket_id HAVING COUNT(*) > 1) AS twice"
    ) == 0
    # Replies joined their originals' tickets: references are unique and dense.
    refs = [r for (r,) in desk_database.query("SELECT reference FROM helpdesk_ticket ORDER BY reference")]
    assert len(refs) == len(set(refs))
