"""Issue 31, point 2: the surge tools' service — one action over many tickets, exactly once per ticket."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection

from helpdesk import services
from helpdesk.models import (
    AuditEvent,
    BulkItem,
    BulkItemState,
    BulkJob,
    BulkJobStatus,
    Message,
    MessageKind,
    Ticket,
    User,
)
from helpdesk.services import bulk_actions
from notifications.models import ResponseTemplate
from workflows.roles import AUDITOR_GROUP

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def template(db: Any) -> ResponseTemplate:
    return ResponseTemplate.objects.create(
        name="Breach notice", body_ko="{name}님, 요청 {reference}을 접수했습니다.",
        body_en="Dear {name}, we have your request {reference}.")


@pytest.fixture
def tickets(make_ticket: Callable[..., Ticket], admin_user: User) -> list[Ticket]:
    made = [make_ticket(email=f"person{i}@example.com", subject=f"유출 문의 {i}") for i in range(5)]
    english = made[1].requester
    english.language = "en"
    english.save()
    return made


def events(tickets: list[Ticket], action: str) -> dict[str, int]:
    found = AuditEvent.objects.filter(ticket__in=tickets, action=action)
    return {t.reference: found.filter(ticket=t).count() for t in tickets}


def start(capture: Any, **kwargs: Any) -> BulkJob:
    """Start a job and run what it enqueues after commit (the in-process default runs the job)."""
    with capture(execute=True):
        return bulk_actions.start_bulk_job(**kwargs)


def test_assign_runs_as_one_job_with_one_audit_event_per_ticket(
        tickets: list[Ticket], manager: User, other_admin: User, django_capture_on_commit_callbacks: Any) -> None:
    job = start(django_capture_on_commit_callbacks, actor=manager, action="assign",
                ticket_ids=[t.pk for t in tickets], params={"assignee": other_admin.username})
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.runs == 1 and job.finished_at is not None
    assert all(t.assignee_id == other_admin.pk for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]))
    assert set(events(tickets, "ticket.assigned").values()) == {2}  # automatic at intake, then this job
    assert AuditEvent.objects.filter(ticket=None, action="bulk.started", data__job=job.pk).count() == 1
    finished = AuditEvent.objects.get(ticket=None, action="bulk.finished", data__job=job.pk)
    assert finished.data["done"] == 5 and finished.data["skipped"] == 0


def test_templated_reply_in_each_requesters_language_exactly_once_when_run_twice(
        tickets: list[Ticket], manager: User, template: ResponseTemplate,
        django_capture_on_commit_callbacks: Any) -> None:
    mail.outbox.clear()
    job = start(django_capture_on_commit_callbacks, actor=manager, action="reply",
                ticket_ids=[t.pk for t in tickets], params={"template": template.pk})
    assert len(mail.outbox) == 5
    english = next(m for m in mail.outbox if tickets[1].requester.email in m.to)
    assert f"Dear {tickets[1].requester.name or tickets[1].requester.email}, we have your request" in english.body
    korean = next(m for m in mail.outbox if tickets[0].requester.email in m.to)
    assert f"요청 {tickets[0].reference}을 접수했습니다" in korean.body

    # Run the same job again, as a redelivered task would: nothing more is done or sent.
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        again = bulk_actions.run_bulk_job(job_id=job.pk)
    assert again["done"] == 5 and again["pending"] == 0
    assert len(mail.outbox) == 5
    assert set(events(tickets, "reply.sent").values()) == {1}
    assert AuditEvent.objects.filter(ticket=None, action="bulk.finished", data__job=job.pk).count() == 1


def test_extension_notice_reuses_the_extension_service_and_skips_closed_tickets(
        tickets: list[Ticket], manager: User, django_capture_on_commit_callbacks: Any) -> None:
    closed = tickets[2]
    services.transition_ticket(ticket=closed, name="withdraw", actor=manager)
    mail.outbox.clear()
    job = start(django_capture_on_commit_callbacks, actor=manager, action="extend",
                ticket_ids=[t.pk for t in tickets], params={"reason": "대규모 유출로 요청이 폭증했습니다."})
    progress = bulk_actions.bulk_progress(job)
    assert progress == {"pending": 0, "done": 4, "skipped": 1, "failed": 0, "total": 5}
    skipped = BulkItem.objects.get(job=job, state=BulkItemState.SKIPPED)
    assert skipped.ticket_id == closed.pk and skipped.reason  # the service's own words
    assert events(tickets, "sla.extended") == {t.reference: 0 if t == closed else 1 for t in tickets}
    for ticket in tickets:
        ticket.refresh_from_db()
        notices = ticket.messages.filter(kind=MessageKind.NOTICE, subject__contains="Deadline extended").count()
        assert notices == (0 if ticket == closed else 1)
        assert ticket.extension_count == (0 if ticket == closed else 1)
    assert len(mail.outbox) == 4


def test_administrator_bulk_reply_only_on_their_own_tickets(
        tickets: list[Ticket], admin_user: User, other_admin: User, manager: User, template: ResponseTemplate,
        django_capture_on_commit_callbacks: Any) -> None:
    services.assign_ticket(ticket=tickets[0], assignee=other_admin, actor=manager)
    job = start(django_capture_on_commit_callbacks, actor=admin_user, action="reply",
                ticket_ids=[t.pk for t in tickets], params={"template": template.pk}, language="en")
    progress = bulk_actions.bulk_progress(job)
    assert (progress["done"], progress["skipped"]) == (4, 1)
    item = BulkItem.objects.get(job=job, ticket=tickets[0])
    assert item.state == BulkItemState.SKIPPED and "assigned administrator" in item.reason  # the job's language
    assert BulkItem.objects.filter(job=job, state=BulkItemState.DONE).count() == 4


def test_who_may_start_which_action(tickets: list[Ticket], admin_user: User, other_admin: User, db: Any,
                                    template: ResponseTemplate) -> None:
    auditor = User.objects.create_user(username="auditor", password="x-Very-long-password-1")
    auditor.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    ids = [t.pk for t in tickets]
    for action, params in [("assign", {"assignee": auditor.username}), ("reply", {"template": template.pk}),
                           ("extend", {"reason": "x"})]:
        with pytest.raises(services.PermissionDeniedError):
            bulk_actions.start_bulk_job(actor=auditor, action=action, ticket_ids=ids, params=params)
    with pytest.raises(services.PermissionDeniedError):  # only managers reassign, in bulk as one by one
        bulk_actions.start_bulk_job(actor=admin_user, action="assign", ticket_ids=ids,
                                    params={"assignee": other_admin.username})
    with pytest.raises(services.GuardError):
        bulk_actions.start_bulk_job(actor=admin_user, action="extend", ticket_ids=ids, params={"reason": " "})
    with pytest.raises(services.GuardError):
        bulk_actions.start_bulk_job(actor=admin_user, action="reply", ticket_ids=[], params={"template": template.pk})
    assert not BulkJob.objects.exists()


def test_an_administrator_takes_unassigned_tickets_in_bulk(
        make_ticket: Callable[..., Ticket], make_admin: Callable[..., User],
        django_capture_on_commit_callbacks: Any) -> None:
    unassigned = [make_ticket(email=f"u{i}@example.com") for i in range(3)]  # no administrator yet
    assert all(t.assignee_id is None for t in unassigned)
    admin = make_admin("taker")
    start(django_capture_on_commit_callbacks, actor=admin, action="assign", ticket_ids=[t.pk for t in unassigned],
          params={"assignee": admin.username})
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in unassigned]).values_list("assignee_id", flat=True)) == {
        admin.pk}
    assert [e.data["how"] for e in AuditEvent.objects.filter(action="ticket.assigned")] == ["take"] * 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_job_at_once_act_on_each_ticket_once(
        make_ticket: Callable[..., Ticket], admin_user: User, manager: User, template: ResponseTemplate,
        tmp_path: Path) -> None:
    """Two processes run the same job at the same time (a redelivered task beside the first): the item
    row locks (SKIP LOCKED) give each ticket to one of them; every ticket gets one reply, one event."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED: the PostgreSQL run covers it")
    made = [make_ticket(email=f"race{i}@example.com") for i in range(30)]
    job = BulkJob.objects.create(action="reply", params={"template": template.pk, "and_respond": False},
                                 created_by=manager, total=len(made))
    BulkItem.objects.bulk_create([BulkItem(job=job, ticket=t) for t in made])
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                                         f"{db['PORT'] or 5432}/{db['NAME']}",
           "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "CELERY_BROKER_URL": "",
           "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"), "DESK_VAR_DIR": str(tmp_path / "var")}
    runs = [subprocess.Popen([sys.executable, "manage.py", "run_bulk_job", str(job.pk)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert set(events(made, "reply.sent").values()) == {1}
    assert Message.objects.filter(ticket__in=made, kind=MessageKind.REPLY).count() == 30
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.runs == 2
    assert AuditEvent.objects.filter(action="bulk.finished", data__job=job.pk).count() == 1


def test_close_as_duplicate_uses_the_merge_service_and_skips_what_it_refuses(
        make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    same = [make_ticket(email="one@example.com", subject=f"같은 요청 {i}") for i in range(4)]
    stranger = make_ticket(email="other@example.com")
    into = same[0]
    job = start(django_capture_on_commit_callbacks, actor=manager, action="close_duplicate",
                ticket_ids=[t.pk for t in [*same, stranger]], params={"into": into.reference.lower()},
                language="en")
    assert job.params == {"into": into.reference, "confirm_other_requester": False}
    progress = bulk_actions.bulk_progress(job)
    assert (progress["done"], progress["skipped"]) == (3, 2)  # not into itself; another requester unconfirmed
    reasons = dict(BulkItem.objects.filter(job=job, state=BulkItemState.SKIPPED).values_list("ticket_id", "reason"))
    assert "merged into" in reasons[into.pk] and stranger.pk in reasons
    for ticket in same[1:]:
        ticket.refresh_from_db()
        assert ticket.state == "merged" and ticket.merged_into_id == into.pk
        assert AuditEvent.objects.filter(ticket=ticket, action="transition.merge").count() == 1
    assert AuditEvent.objects.filter(ticket=into, action="ticket.merged_in").count() == 3
    with pytest.raises(services.GuardError):
        bulk_actions.start_bulk_job(actor=manager, action="close_duplicate", ticket_ids=[same[1].pk],
                                    params={"into": "PRIV-1999-9999"})
