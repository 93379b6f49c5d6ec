"""Benchmark: one SLA sweep over 1,000,000 tickets on PostgreSQL (printed, never asserted).

    python bench/sla_sweep.py [--tickets 1000000] [--open-share 0.05] [--keep]

Creates the database ``pd_bench_sla`` (or ``$BENCH_SLA_DB``) (dropped at the end unless ``--keep``), migrates it,
COPY-loads the tickets (5 % open by default, deadlines spread from 5 days overdue to 30 days
ahead; the rest closed, with deadlines in the past two years), then times:

1. a *cold* sweep: nothing was ever sent, so it claims a full batch (``DESK_SLA_SWEEP_BATCH``);
2. a *steady* sweep: every stage due so far is already claimed (as after earlier runs), plus the
   new tickets that entered a stage since — what the every-5-minutes beat task normally meets.

For each it prints the wall time, the number of queries (CaptureQueriesContext) and EXPLAIN
(ANALYZE, BUFFERS) of each SELECT the sweep ran, showing the indexes used.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402

DB_NAME = os.environ.get("BENCH_SLA_DB", "pd_bench_sla")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open-share", type=float, default=0.05)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    with pgdb.database(DB_NAME, keep=args.keep):
        run(args)
        print(pgdb.load_average())


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from helpdesk.models import Requester, Ticket, User
    from notifications.reminders import run_sweep
    from workflows.calendar import end_of_day, local_date

    admins = []
    for name in ("moonwon.park", "hyojoon.shim"):
        user = User.objects.create_user(username=name, email=f"{name}@micube.co.kr")
        user.groups.add(Group.objects.get(name="privacy_administrator"))
        admins.append(user.pk)
    manager = User.objects.create_user(username="manager", email="manager@micube.co.kr")
    manager.groups.add(Group.objects.get(name="manager"))
    requesters = Requester.objects.bulk_create(
        [Requester(email=f"r{n}@example.com", name=f"요청자 {n}") for n in range(1000)]
    )
    requester_ids = [r.pk for r in requesters]

    now = timezone.now()
    today = local_date(now)
    rng = random.Random(4)  # reproducible data, not secrets
    open_states = ["received", "verified", "processed", "awaiting_requester"]
    closed_states = ["responded", "responded", "responded", "rejected", "withdrawn"]
    types = ["access", "correction", "deletion", "suspension", "consent_withdrawal", "complaint", "inquiry"]
    access_key = secrets.token_urlsafe(24)

    def row(n: int) -> dict[str, object]:
        is_open = rng.random() < args.open_share
        if is_open:
            due = end_of_day(today + timedelta(days=rng.randint(-5, 30)))
            state = rng.choice(open_states)
        else:
            due = end_of_day(today - timedelta(days=rng.randint(1, 730)))
            state = rng.choice(closed_states)
        received = due - timedelta(days=10)
        values: dict[str, object] = {
            "state": state, "reference": f"PRIV-B-{n:07d}", "request_type": rng.choice(types),
            "jurisdiction": "gdpr" if rng.random() < 0.03 else "kr", "subject": f"요청 {n}",
            "requester_id": rng.choice(requester_ids), "assignee_id": rng.choice([*admins, None]),
            "channel": "email", "received_at": received, "due_at": due, "created_at": received,
            "updated_at": received, "access_key": access_key,
            "paused_at": now - timedelta(days=1) if state == "awaiting_requester" else None,
            "closed_at": None if is_open else due - timedelta(days=2),
            "responded_at": None if is_open else due - timedelta(days=2),
        }
        return values

    started = time.perf_counter()
    pgdb.copy_rows(Ticket, (row(n) for n in range(args.tickets)))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    load_seconds = time.perf_counter() - started
    open_count = Ticket.objects.open().count()
    print(f"loaded {args.tickets:,} tickets ({open_count:,} open) in {load_seconds:.1f} s")
    print(f"batch limit per sweep: {settings.DESK_SLA_SWEEP_BATCH}")

    def measure(label: str) -> None:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = run_sweep(enqueue=False)
            elapsed = time.perf_counter() - started
        print(f"\n=== {label}: {elapsed * 1000:.0f} ms, {len(queries.captured_queries)} queries, "
              f"claimed {result.as_dict()}")
        with connection.cursor() as cursor:
            for query in queries.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or "helpdesk_ticket" not in sql:
                    print(f"-- ({query['time']} s) {sql[:160]}{'...' if len(sql) > 160 else ''}")
                    continue
                print(f"-- ({query['time']} s) {sql[:300]}...")
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
                for (line,) in cursor.fetchall():
                    print(f"   {line}")

    measure("cold sweep (nothing sent yet; claims a full batch)")
    # Steady state: everything due so far was claimed by earlier runs (one bulk claim here)...
    claimed_total = 0
    while True:
        result = run_sweep(enqueue=False, limit=50_000)
        claimed_total += len(result.claimed)
        if not result.claimed:
            break
    with connection.cursor() as cursor:  # what autovacuum does after a burst of inserts
        cursor.execute("ANALYZE notifications_sentnotification")
    print(f"\n(bulk-claimed {claimed_total:,} earlier stages to reach the steady state; ANALYZE)")
    # ... and a few tickets entered a stage since the last run (new receipts, moved deadlines).
    fresh = list(Ticket.objects.filter(state="received", due_at__gt=end_of_day(today + timedelta(days=20)))
                 .values_list("pk", flat=True)[:25])
    Ticket.objects.filter(pk__in=fresh).update(due_at=end_of_day(today + timedelta(days=1)))
    measure("steady sweep (every 5 minutes; 25 tickets newly due)")
    measure("idle sweep (nothing new)")


if __name__ == "__main__":
    main()
