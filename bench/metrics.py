"""Figures and ticket-list speed on a million tickets.

Creates (and afterwards drops) the PostgreSQL database ``pd_bench_metrics``, loads 1,000,000
tickets spread over three years with COPY, then measures through the real API (Django test client,
token-authenticated manager):

* ``GET /api/v1/metrics/response-times/`` for one whole year (target: under 1 s);
* ``GET /api/v1/tickets/?page_size=50`` (target: median under 50 ms, constant query count).

Usage: python bench/metrics.py [--tickets 1000000] [--requests 30] [--keep] [--reuse]
       (PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402

DB_NAME = "pd_bench_metrics"
SERVER = pgdb.SERVER


def recreate_database() -> None:
    pgdb.recreate_database(DB_NAME)


def drop_database() -> None:
    pgdb.drop_database(DB_NAME)


def setup_django() -> None:
    pgdb.setup_django(DB_NAME)


def load(n_tickets: int) -> dict[str, Any]:
    """Rows straight into the tables with COPY: benchmark data, not a desk workflow."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from helpdesk.models import Requester, Ticket, User, new_access_key
    from workflows.calendar import desk_tz
    from workflows.request_types import RequestType
    from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP
    from workflows.states import TicketState as S

    call_command("migrate", verbosity=0)
    admins = []
    for name in ("moonwon.park", "hyojoon.shim", "third.admin"):
        user = User.objects.create_user(username=name, display_name=name.title())
        user.groups.add(Group.objects.get(name=ADMINISTRATOR_GROUP))
        admins.append(user.pk)
    manager = User.objects.create_user(username="manager", display_name="Manager")
    manager.groups.add(Group.objects.get(name=MANAGER_GROUP))
    token = Token.objects.create(user=manager).key
    Requester.objects.bulk_create(
        [Requester(email=f"person{i}@example.com", name=f"Person {i}") for i in range(50_000)], batch_size=5000)
    requester_ids = list(Requester.objects.values_list("pk", flat=True))

    rng = random.Random(42)
    start = datetime(2024, 1, 1, tzinfo=desk_tz())
    span = (datetime(2026, 11, 20, tzinfo=desk_tz()) - start).total_seconds()
    types = list(RequestType.values)
    overrides_order = ["reference", "request_type", "subject", "requester_id", "assignee_id", "channel",
                       "received_at", "due_at", "state", "first_response_at", "responded_at", "closed_at",
                       "paused_seconds", "active_seconds", "resolution_seconds"]
    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    # Defaults for every other column, whatever the other packages have added to Ticket.
    defaults = {}
    for f in fields:
        if f.attname not in overrides_order:
            value = f.get_default()
            if f.attname in ("created_at", "updated_at"):
                value = start
            defaults[f.attname] = value
    now = datetime(2026, 11, 21, tzinfo=desk_tz())
    t0 = time.perf_counter()
    numbers: dict[int, int] = {}
    with connection.cursor() as cursor:
        copy_sql = f"COPY {Ticket._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for _i in range(n_tickets):
                received = start + timedelta(seconds=rng.random() * span)
                year = received.year
                numbers[year] = numbers.get(year, 0) + 1
                due = (received + timedelta(days=10)).replace(hour=23, minute=59, second=59)
                first = received + timedelta(hours=rng.expovariate(1 / 30))
                answer = received + timedelta(days=rng.expovariate(1 / 6))
                paused = rng.choice([0, 0, 0, 3600 * rng.randint(1, 72)])
                closed = answer < now and rng.random() < 0.95
                state = rng.choice([S.RESPONDED] * 9 + [S.REJECTED]) if closed else rng.choice(
                    [S.RECEIVED, S.VERIFIED, S.PROCESSED, S.AWAITING_REQUESTER])
                active = max(0, int((answer - received).total_seconds()) - paused) if closed else None
                row = {
                    "reference": f"PRIV-{year}-{numbers[year]:07d}",
                    "request_type": rng.choice(types),
                    "subject": "개인정보 요청",
                    "requester_id": rng.choice(requester_ids),
                    "assignee_id": rng.choice([*admins, None]) if not closed else rng.choice(admins),
                    "channel": rng.choice(["email", "email", "web", "staff"]),
                    "received_at": received, "due_at": due, "state": state,
                    "first_response_at": first if first < now else None,
                    "responded_at": answer if closed else None, "closed_at": answer if closed else None,
                    "paused_seconds": paused, "active_seconds": active,
                    "resolution_seconds": int((answer - received).total_seconds()) if closed else None,
                }
                values = []
                for f in fields:
                    value = row[f.attname] if f.attname in row else defaults[f.attname]
                    if f.attname == "access_key":
                        value = new_access_key()
                    values.append(f.get_db_prep_save(value, connection) if value is not None else None)
                copy.write_row(values)
    load_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"token": token, "load_seconds": load_seconds}


def reuse() -> dict[str, Any]:
    """Bring a kept database up to date (new migrations, e.g. indexes) and find the manager's token."""
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from helpdesk.models import Ticket

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"token": Token.objects.get(user__username="manager").key, "tickets": Ticket.objects.count()}


def measure(path: str, token: str, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    client.get(path)  # warm-up (connection, caches)
    times = []
    queries: set[int] = set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.content[:300]
        queries.add(len(ctx.captured_queries))
    return {"median_ms": statistics.median(times), "max_ms": max(times), "queries": sorted(queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by --keep (migrated and vacuumed again), no reload")
    args = parser.parse_args()
    if args.reuse:
        args.keep = True
    else:
        recreate_database()
    setup_django()
    try:
        if args.reuse:
            loaded = reuse()
            print(f"reusing {loaded['tickets']:,} tickets in {DB_NAME}")
        else:
            loaded = load(args.tickets)
            print(f"loaded {args.tickets:,} tickets in {loaded['load_seconds']:.1f} s")
        cases = [
            ("metrics, year 2025", "/api/v1/metrics/response-times/?from=2025-01-01&to=2025-12-31", 5),
            ("metrics, year 2025, access only",
             "/api/v1/metrics/response-times/?from=2025-01-01&to=2025-12-31&request_type=access", 5),
            ("ticket list, page 1 of 50", "/api/v1/tickets/?page_size=50", args.requests),
            ("ticket list, page 100 of 50", "/api/v1/tickets/?page_size=50&page=100", args.requests),
            ("ticket list, open + overdue", "/api/v1/tickets/?page_size=50&overdue=true", args.requests),
            ("ticket list, state=processed", "/api/v1/tickets/?page_size=50&state=processed", args.requests),
        ]
        print(f"{'case':<38} {'median ms':>10} {'max ms':>10}  queries")
        for label, path, runs in cases:
            result = measure(path, loaded["token"], runs)
            print(f"{label:<38} {result['median_ms']:>10.1f} {result['max_ms']:>10.1f}  {result['queries']}")
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
