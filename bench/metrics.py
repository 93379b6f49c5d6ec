"""Figures and ticket-list speed on a million tickets.

Creates (and afterwards drops) the PostgreSQL database ``pd_bench_metrics`` (or ``$BENCH_METRICS_DB``), loads 1,000,000
tickets spread over three years with COPY, then measures through the real API (Django test client,
token-authenticated manager):

* ``GET /api/v1/metrics/response-times/`` for one whole year (target: median ≤ 300 ms), with filters
  and for the default 30 days;
* ``GET /desk/dashboard/`` as a logged-in manager, the whole page (target: under 500 ms);
* ``GET /api/v1/tickets/?page_size=50`` (target: median under 50 ms, constant query count).

After a load it builds the figures' summary (``manage.py rebuild_figures``) and prints how long
that took; the machine's load average is printed before and after the timings.

Usage: python bench/metrics.py [--tickets 1000000] [--requests 30] [--keep] [--reuse]
       (PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402

DB_NAME = os.environ.get("BENCH_METRICS_DB", "pd_bench_metrics")


def load(n_tickets: int) -> dict[str, Any]:
    """Rows straight into the tables with COPY: benchmark data, not a desk workflow."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from helpdesk.models import Requester, Ticket, User, new_access_key
    from workflows.calendar import desk_tz
    from workflows.request_types import RequestType
    from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP
    from workflows.states import TicketState as S

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
    now = datetime(2026, 11, 21, tzinfo=desk_tz())
    numbers: dict[int, int] = {}

    def rows() -> Any:
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
            yield {
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
                "created_at": start, "updated_at": start, "access_key": new_access_key(),
            }

    t0 = time.perf_counter()
    pgdb.copy_rows(Ticket, rows())
    load_seconds = time.perf_counter() - t0
    pgdb.vacuum_analyze()
    return {"token": token, "load_seconds": load_seconds}


def reuse() -> dict[str, Any]:
    """A kept database (migrated by pgdb.database): vacuum again and find the manager's token."""
    from rest_framework.authtoken.models import Token

    from helpdesk.models import Ticket

    pgdb.vacuum_analyze()
    return {"token": Token.objects.get(user__username="manager").key, "tickets": Ticket.objects.count()}


def build_summary() -> float:
    """The figures' summary (helpdesk.metrics.summary): after a bulk load every closed day is marked."""
    from django.core.management import call_command

    from helpdesk.models import FigureDirtyDay

    t0 = time.perf_counter()
    if FigureDirtyDay.objects.exists():
        call_command("rebuild_figures", verbosity=0)
        pgdb.vacuum_analyze()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by --keep (migrated and vacuumed again), no reload")
    args = parser.parse_args()
    with pgdb.database(DB_NAME, reuse=args.reuse, keep=args.keep):
        if args.reuse:
            loaded = reuse()
            print(f"reusing {loaded['tickets']:,} tickets in {DB_NAME}")
        else:
            loaded = load(args.tickets)
            print(f"loaded {args.tickets:,} tickets in {loaded['load_seconds']:.1f} s")
        print(f"figures summary built in {build_summary():.1f} s (only when days were marked)")
        from django.test import Client

        from helpdesk.models import User

        api = Client(HTTP_AUTHORIZATION=f"Token {loaded['token']}")
        browser = Client()
        browser.force_login(User.objects.get(username="manager"))
        year = "from=2025-01-01&to=2025-12-31"
        cases = [
            ("metrics, year 2025", api, f"/api/v1/metrics/response-times/?{year}", 10),
            ("metrics, year 2025, access only", api, f"/api/v1/metrics/response-times/?{year}&request_type=access", 10),
            ("metrics, year 2025, channel email", api, f"/api/v1/metrics/response-times/?{year}&channel=email", 10),
            ("metrics, last 30 days (default)", api, "/api/v1/metrics/response-times/", 10),
            ("dashboard page, year 2025 (manager)", browser, f"/desk/dashboard/?{year}", 10),
            ("dashboard page, default period", browser, "/desk/dashboard/", 10),
            ("ticket list, page 1 of 50", api, "/api/v1/tickets/?page_size=50", args.requests),
            ("ticket list, page 100 of 50", api, "/api/v1/tickets/?page_size=50&page=100", args.requests),
            ("ticket list, open + overdue", api, "/api/v1/tickets/?page_size=50&overdue=true", args.requests),
            ("ticket list, state=processed", api, "/api/v1/tickets/?page_size=50&state=processed", args.requests),
        ]
        print(pgdb.load_average())
        print(f"{'case':<40} {'median ms':>10} {'max ms':>10}  queries")
        for label, client, path, runs in cases:
            result = pgdb.time_get(client, path, runs)
            print(f"{label:<40} {result['median_ms']:>10.1f} {result['max_ms']:>10.1f}  {result['queries']}",
                  flush=True)
        print(pgdb.load_average())
        compare_paths()
        print(pgdb.load_average())


def compare_paths(runs: int = 5) -> None:
    """The year's figures in-process, both ways: the summary (what the API serves) and the live
    reference that reads every ticket (what the API served before), alternating, same load."""
    from datetime import date

    from helpdesk import metrics

    f = metrics.MetricsFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    times: dict[str, list[float]] = {"summary": [], "live": []}
    results = {}
    for _ in range(runs):
        for name, compute in (("summary", metrics.response_times), ("live", metrics.response_times_live)):
            t0 = time.perf_counter()
            results[name] = compute(f)
            times[name].append((time.perf_counter() - t0) * 1000)
    for name, values in times.items():
        print(f"response_times, year 2025, {name:<8} median {sorted(values)[len(values) // 2]:7.1f} ms "
              f"(max {max(values):.1f}, {runs} runs)")
    # Means: integer-microsecond sums vs float sums, so the last bits may differ; nothing else may.
    print("figures that differ between the two (beyond 1e-9 relative):",
          _differences(results["summary"], results["live"]) or "none")


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict):
        return [d for k in a for d in _differences(a[k], b.get(k), f"{path}.{k}")]
    if isinstance(a, list):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in _differences(x, y, f"{path}[{i}]")]
    if a != b:
        if isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-9 * max(abs(a), abs(b)):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    return []


if __name__ == "__main__":
    main()
