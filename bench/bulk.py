"""Benchmark: one bulk action over 10,000 tickets on PostgreSQL (issue 31, point 2; printed, never asserted).

    python bench/bulk.py [--tickets 10000] [--actions assign,reply] [--keep]

Creates the database ``pd_bench_bulk`` (or ``$BENCH_BULK_DB``; dropped at the end unless ``--keep``),
migrates it and COPY-loads the tickets (open, one requester each, a quarter in English), then runs each
action as the desk does — :func:`helpdesk.services.bulk_actions.start_bulk_job` with the job run
in-process (the zero-config default, no broker): the items are stored, then every ticket goes through
the single action's service in its own transaction (row locks, permission check, audit event, item
marked done). ``reply`` renders the template per ticket in the requester's language and, after each
commit, builds and "sends" the mail in-process (Django's dummy mail backend): the whole cost a worker
pays. Prints tickets/s and SQL queries per ticket for each action, and the load average. Bounded: one
pass per action.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402

DB_NAME = os.environ.get("BENCH_BULK_DB", "pd_bench_bulk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--actions", default="assign,reply")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    os.environ["CELERY_BROKER_URL"] = ""  # in-process, as `make run`
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    with pgdb.database(DB_NAME, keep=args.keep):
        run(args)
        print(pgdb.load_average())


class Counter:
    """A database execute wrapper that counts the queries."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.n += 1
        return execute(sql, params, many, context)


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from helpdesk.models import AuditEvent, BulkItem, BulkJob, Requester, Ticket, User
    from helpdesk.services import bulk_actions
    from notifications.models import ResponseTemplate
    from workflows.calendar import end_of_day, local_date

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    admins = []
    for name in ("moonwon.park", "hyojoon.shim"):
        user = User.objects.create_user(username=name, email=f"{name}@micube.co.kr")
        user.groups.add(Group.objects.get(name="privacy_administrator"))
        admins.append(user)
    manager = User.objects.create_user(username="manager", email="manager@micube.co.kr")
    manager.groups.add(Group.objects.get(name="manager"))
    n = args.tickets
    requesters = Requester.objects.bulk_create(
        [Requester(email=f"r{i}@example.com", name=f"요청자 {i}", language="en" if i % 4 == 0 else "ko")
         for i in range(n)], batch_size=2000)
    now = timezone.now()
    due = end_of_day(local_date(now) + timedelta(days=10))
    key = secrets.token_urlsafe(24)
    started = time.perf_counter()
    pgdb.copy_rows(Ticket, ({
        "state": "received", "reference": f"PRIV-B-{i:07d}", "request_type": "complaint", "jurisdiction": "kr",
        "subject": f"유출 문의 {i}", "requester_id": requesters[i].pk, "assignee_id": admins[i % 2].pk,
        "channel": "web", "received_at": now, "due_at": due, "created_at": now, "updated_at": now,
        "access_key": key} for i in range(n)))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    print(f"loaded {n:,} open tickets in {time.perf_counter() - started:.1f} s")
    template = ResponseTemplate.objects.create(name="Breach", body_ko="{name}님, {reference} 요청을 접수했습니다.",
                                               body_en="Dear {name}, we have your request {reference}.")
    ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    params = {"assign": {"assignee": admins[0].username}, "reply": {"template": template.pk},
              "extend": {"reason": "대규모 유출로 요청이 폭증했습니다."}}

    print(f"\n{'action':<8} {'tickets':>8} {'seconds':>8} {'tickets/s':>10} {'queries/ticket':>15} {'done':>6}")
    for action in args.actions.split(","):
        queries = Counter()  # a counter, not CaptureQueriesContext: its log keeps only the last 9,000
        with connection.execute_wrapper(queries):
            started = time.perf_counter()
            job = bulk_actions.start_bulk_job(actor=manager, action=action, ticket_ids=ids, params=params[action])
            elapsed = time.perf_counter() - started
        job = BulkJob.objects.get(pk=job.pk)
        progress = bulk_actions.bulk_progress(job)
        print(f"{action:<8} {n:>8,} {elapsed:>8.1f} {n / elapsed:>10.0f} {queries.n / n:>15.1f} "
              f"{progress['done']:>6,}")
        assert progress["pending"] == 0, progress  # a figure for a job that did not finish would be wrong
    print(f"\naudit events: {AuditEvent.objects.count():,}; bulk items: {BulkItem.objects.count():,}")


if __name__ == "__main__":
    main()
