"""A bounded breach-day surge (issue 31): counts in = counts out, never a timing assert.

Runs ``bench/surge.py`` — the production stack on loopback (gunicorn with its public and staff pools,
PostgreSQL, Redis, one Celery worker, an aiosmtpd sink), new requesters each with their own address
through the trusted proxy header, a fifth with a 200 KB PDF, two administrators on the desk — at two
small concurrency levels for a few seconds each, and checks what it reports: every submission was
accepted (no 5xx, no rate limit hit by distinct requesters), and accepted submissions = web tickets =
stored acknowledgements = acknowledgements the sink received, none twice, none unknown.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.realservices import require

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_a_bounded_surge_loses_nothing_and_sends_nothing_twice() -> None:
    require(_reachable(5432), "PostgreSQL not reachable on 127.0.0.1:5432")
    require(_reachable(6379), "Redis not reachable on 127.0.0.1:6379")
    redis_url = os.environ.get("DESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    result = subprocess.run(
        [sys.executable, "bench/surge.py", "--levels", "4,12", "--seconds", "6", "--redis", redis_url,
         "--tag", "load"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    print(result.stdout)
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    levels = [report for report in reports if "concurrency" in report]
    counts = next(report for report in reports if "in_equals_out" in report)
    assert [level["concurrency"] for level in levels] == [4, 12]
    assert all(level["accepted"] > 0 and level["refused"] == {} for level in levels), levels
    assert all(level["desk_pages"] > 0 for level in levels), levels
    accepted = sum(level["accepted"] for level in levels)
    assert counts["submissions_accepted"] == accepted
    assert counts["web_tickets"] == accepted
    assert counts["acks_stored"] == accepted
    assert counts["acks_received"] == accepted
    assert counts["acks_sent_twice"] == 0 and counts["acks_unknown"] == 0
    assert counts["in_equals_out"] is True
