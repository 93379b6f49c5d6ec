"""Real parts: two sweeps racing on PostgreSQL; a real Celery worker on Redis mailing a real SMTP sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk import services
from helpdesk.models import Channel, Ticket, User
from notifications.models import SentNotification, StaffMailStatus
from notifications.reminders import REMINDER, claim, reminder_candidates, reminder_stage, run_sweep
from workflows.calendar import end_of_day, local_date
from workflows.models import SlaPolicy

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only: run with DATABASE_URL=postgres://...")


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work`` in ``count`` threads (each with its own connection), started together."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def _tickets(count: int) -> list[Ticket]:
    tickets = []
    for n in range(count):
        tickets.append(services.create_ticket(
            message=services.InboundMessage(sender_email=f"r{n}@example.com", subject=f"열람 요청 {n}",
                                            body_text="열람을 요청합니다."),
            channel=Channel.WEB, request_type="access", acknowledge=False,
        ))
    return tickets


@pytest.mark.postgres
def test_two_sweeps_at_once_send_one_mail_per_stage(admin_user: User, manager: User) -> None:
    _require_postgres()
    with time_machine.travel(timezone.now() - timedelta(days=30), tick=False):
        tickets = _tickets(12)
    # Spread the deadlines over every stage: overdue, today, tomorrow, in 3 days, far away.
    today = local_date(timezone.now())
    for n, ticket in enumerate(tickets):
        days = [-1, 0, 1, 3, 20][n % 5]
        Ticket.objects.filter(pk=ticket.pk).update(due_at=end_of_day(today + timedelta(days=days)))
    mail.outbox.clear()
    for _round in range(3):  # three rounds of two racing sweeps; later rounds find nothing new
        _in_threads(2, lambda _i: run_sweep())
    expected = sum(1 for n in range(12) if n % 5 != 4)
    assert SentNotification.objects.count() == expected
    assert SentNotification.objects.filter(delivery_status=StaffMailStatus.SENT).count() == expected
    assert len(mail.outbox) == expected
    subjects = [m.subject for m in mail.outbox]
    assert len(set(subjects)) == expected  # one mail per ticket and stage, no duplicates


@pytest.mark.postgres
def test_racing_claims_after_both_passed_the_not_exists_check(admin_user: User) -> None:
    """Both sweeps selected the same candidates; the unique constraint lets only one claim each."""
    _require_postgres()
    tickets = _tickets(5)
    today = local_date(timezone.now())
    due = tickets[0].due_at
    for ticket in tickets:
        Ticket.objects.filter(pk=ticket.pk).update(due_at=due)
    offset = (local_date(due) - today).days
    rows = list(reminder_candidates(Q(jurisdiction="kr"), offset, 0, today, 100))
    assert len(rows) == 5  # both sweeps would see these same rows

    def claim_all(_index: int) -> list[int]:
        with transaction.atomic():
            return claim(REMINDER, [(pk, reminder_stage(offset, d), d) for pk, d in rows])

    first, second = _in_threads(2, claim_all)
    assert sorted(first + second) == sorted(SentNotification.objects.values_list("pk", flat=True))
    assert len(first) + len(second) == 5


@pytest.mark.services
def test_real_worker_mails_the_reminder_to_the_smtp_sink(
    celery_worker_process: Any, smtp_sink: Any, admin_user: User
) -> None:
    """A ticket nearing its deadline: the sweep (here, in the test process) claims the reminder;
    the real worker, fed through Redis, delivers it to the real SMTP server."""
    SlaPolicy.objects.filter(request_type="deletion", jurisdiction="kr").update(period=12)
    # Received 10 days ago (time travel, not sleeping): the 12-day deadline is at most 2 days away.
    received = timezone.now() - timedelta(days=10)
    with time_machine.travel(received, tick=False):
        ticket = services.create_ticket(
            message=services.InboundMessage(sender_email="lee@example.com", sender_name="이수진",
                                            subject="개인정보 삭제 요청", body_text="삭제해 주세요."),
            channel=Channel.WEB, request_type="deletion", acknowledge=False,
        )
    days_left = (local_date(ticket.due_at) - local_date(timezone.now())).days
    if days_left > 3:  # a long holiday rolled the deadline: bring it to two days out for the test
        Ticket.objects.filter(pk=ticket.pk).update(due_at=ticket.due_at - timedelta(days=days_left - 2))
    worker = celery_worker_process()
    # The sweep runs as deployments without beat run it: `manage.py sla_sweep` from cron, a
    # separate process that claims the reminder and hands it to the worker through Redis.
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": worker.broker_url,
           "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                           f"{db['PORT'] or 5432}/{db['NAME']}"}
    command = [sys.executable, "manage.py", "sla_sweep", "--no-digest"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["reminders"] == 1
    [reminder] = smtp_sink.wait_for(1, timeout=30)
    assert f"[{ticket.reference}]" in reminder["Subject"]
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert reminder["To"] == admin_user.email
    assert "처리 기한" in reminder.get_content()
    claim_row = SentNotification.objects.get(ticket=ticket)
    claim_row.refresh_from_db()
    assert claim_row.delivery_status == StaffMailStatus.SENT
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(again.stdout.strip().splitlines()[-1])["reminders"] == 0  # once only
    assert len(smtp_sink.messages) == 1, worker.log()
