"""Issue 26, point 6: reminders about tasks — before the due date and once overdue, to the contact and to
the assigned administrator, exactly once per kind; in-process on both databases, and through beat's task
run by a real Celery worker on Redis that mails a real SMTP server (PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from helpdesk import services
from helpdesk.models import AuditEvent, Channel, Contact, ContactKind, Direction, MessageKind, Task, Ticket, User
from notifications.contact_tasks import BEFORE_DUE, OVERDUE, run_task_sweep
from notifications.models import StaffMailStatus, TaskReminder
from workflows.calendar import local_date, start_of_day

ROOT = Path(__file__).resolve().parents[2]


def _ticket_and_task(admin_user: User, contact: Contact, days_to_due: int = 3) -> tuple[Ticket, Task]:
    ticket = services.create_ticket(
        message=services.InboundMessage(sender_email="hong@example.com", subject="정보 정정 요청",
                                        body_text="주소를 정정해 주세요."),
        channel=Channel.WEB, request_type="correction", acknowledge=False)
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=admin_user)
    day = min(local_date(timezone.now()) + timedelta(days=days_to_due), local_date(ticket.due_at))
    task = services.send_task(ticket=ticket, actor=admin_user, contact=contact, due_date=day,
                              instructions="CRM의 주소를 정정하고 알려 주세요.")
    return ticket, task


@pytest.fixture
def crm_owner(db: Any) -> Contact:
    return Contact.objects.create(name="김영희", organisation="고객지원팀", kind=ContactKind.INTERNAL,
                                  email="crm-owner@micube.example")


@pytest.mark.django_db
def test_before_due_and_overdue_once_each_to_contact_and_administrator(
        admin_user: User, crm_owner: Contact, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket, task = _ticket_and_task(admin_user, crm_owner)
    assert task.remind_at == start_of_day(local_date(task.due_at) - timedelta(days=1))
    mail.outbox.clear()
    assert run_task_sweep() == []  # nothing due yet
    with time_machine.travel(task.remind_at + timedelta(hours=9), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            [claim] = run_task_sweep()
        with django_capture_on_commit_callbacks(execute=True):
            assert run_task_sweep() == []  # exactly once
    contact_mail, staff_mail = sorted(mail.outbox, key=lambda m: m.to[0] != "crm-owner@micube.example")
    assert contact_mail.to == ["crm-owner@micube.example"] and f"[{task.token}]" in contact_mail.subject
    assert contact_mail.body.index("기한") < contact_mail.body.index("is due on")  # Korean first
    assert staff_mail.to == [admin_user.email] and "Task due soon" in staff_mail.subject
    assert staff_mail.extra_headers["Auto-Submitted"] == "auto-generated"
    row = TaskReminder.objects.get(pk=claim)
    assert (row.kind, row.delivery_status) == (BEFORE_DUE, StaffMailStatus.SENT)
    assert row.message is not None and row.message.direction == Direction.NOTE
    assert row.message.kind == MessageKind.TASK and row.message.in_reply_to == task.mail.message_id  # type: ignore[union-attr]

    mail.outbox.clear()
    with time_machine.travel(task.due_at + timedelta(hours=10), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        [overdue] = run_task_sweep()
        assert run_task_sweep() == []
    assert TaskReminder.objects.get(pk=overdue).kind == OVERDUE
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["crm-owner@micube.example", admin_user.email])
    assert any("기한 지남" in m.subject for m in mail.outbox)
    assert [e.data["kind"] for e in AuditEvent.objects.filter(ticket=ticket, action="task.reminded")] == [
        BEFORE_DUE, OVERDUE]


@pytest.mark.django_db
def test_no_reminder_for_a_closed_task_nor_one_sent_the_day_before(
        admin_user: User, crm_owner: Contact, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket, task = _ticket_and_task(admin_user, crm_owner)
        _other, soon = _ticket_and_task(admin_user, crm_owner, days_to_due=0)
    assert soon.remind_at is None  # sent on its due day: no "due soon" right after the task itself
    services.close_task(ticket=ticket, actor=admin_user, task_id=task.pk, note="전화로 확인")
    mail.outbox.clear()
    with time_machine.travel(task.due_at + timedelta(days=2), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        claims = run_task_sweep()
    assert [TaskReminder.objects.get(pk=pk).task_id for pk in claims] == [soon.pk]  # only the open one, overdue
    assert TaskReminder.objects.get().kind == OVERDUE


def test_beat_runs_the_task_sweep() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["task-reminders"]
    assert entry["task"] == "notifications.tasks.task_reminder_sweep"


@pytest.mark.postgres
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_overdue_reminder_once(celery_worker_process: Any, smtp_sink: Any,
                                                       admin_user: User) -> None:
    contact = Contact.objects.create(name="Stibee privacy team", organisation="Stibee Co., Ltd.",
                                     kind=ContactKind.PROCESSOR, email="privacy@stibee.example")
    with time_machine.travel(timezone.now() - timedelta(days=4), tick=False):
        ticket, task = _ticket_and_task(admin_user, contact, days_to_due=1)  # due two or three days ago
    worker = celery_worker_process()
    # As cron runs it without beat: a separate process claims; the worker, fed through Redis, mails.
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": worker.broker_url,
           "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                           f"{db['PORT'] or 5432}/{db['NAME']}"}
    command = [sys.executable, "manage.py", "sla_sweep", "--no-digest"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["task_reminders"] == 1
    mails = smtp_sink.wait_for(3, timeout=60)  # the task itself (queued before the worker started) + 2 reminders
    subjects = {m["To"]: m["Subject"] for m in mails if "기한 지남" in m["Subject"] or "Task overdue" in m["Subject"]}
    assert set(subjects) == {"privacy@stibee.example", admin_user.email}, worker.log()
    assert f"[{task.token}]" in subjects["privacy@stibee.example"]
    assert f"[{ticket.reference}]" in subjects[admin_user.email]
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(again.stdout.strip().splitlines()[-1])["task_reminders"] == 0  # once only
    claim = TaskReminder.objects.get(task=task)
    assert claim.kind == OVERDUE
    # Beat's own task (applied here, in-process) finds nothing more either.
    from notifications.tasks import task_reminder_sweep

    assert task_reminder_sweep.apply().get() == 0
