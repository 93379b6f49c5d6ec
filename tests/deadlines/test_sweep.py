"""Staged reminders, escalation and the digest: each sent once, to the right people."""

from __future__ import annotations

from typing import Any

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk import services
from helpdesk.models import Ticket, User
from helpdesk.services import extend_deadline
from notifications.models import DigestLog, SentNotification, StaffMailStatus
from notifications.reminders import claim_digests, run_sweep
from tests.deadlines.conftest import seoul
from workflows.models import SlaPolicy


def _subjects() -> list[str]:
    return [m.subject for m in mail.outbox]


def test_reminder_stages_each_go_out_once_then_escalation(
    ticket_at: Any, admin_user: User, manager: User, at: Any, sweep: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10))  # due Mon 21 Sep 2026
    assert ticket.assignee_id == admin_user.pk
    ref = f"[{ticket.reference}]"

    at(seoul(2026, 9, 17, 9))  # 4 days left: nothing yet
    assert sweep().claimed == []
    at(seoul(2026, 9, 18, 0, 5))  # 3 days left (Seoul date): first reminder
    sweep()
    assert len(mail.outbox) == 1
    first = mail.outbox[0]
    assert first.to == [admin_user.email]
    assert ref in first.subject and "due in 3 days" in first.subject
    assert first.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "처리 기한이 3일 남았습니다" in first.body and "This request is due in 3 days" in first.body
    sweep()  # same day, again: nothing new
    at(seoul(2026, 9, 19, 12))  # 2 days left: still inside the 3-day stage, already sent
    sweep()
    assert len(mail.outbox) == 1
    at(seoul(2026, 9, 20, 8))
    sweep()
    at(seoul(2026, 9, 20, 18))
    sweep()
    assert len(mail.outbox) == 2 and "due in 1 day" in mail.outbox[1].subject
    at(seoul(2026, 9, 21, 23, 59))
    sweep()
    assert len(mail.outbox) == 3 and "due today" in mail.outbox[2].subject
    at(seoul(2026, 9, 22, 0, 1))  # deadline passed without an answer: escalation to the managers
    sweep()
    sweep()
    assert len(mail.outbox) == 4
    escalation = mail.outbox[3]
    assert escalation.to == [manager.email]
    assert escalation.cc == [admin_user.email]
    assert ref in escalation.subject and "Deadline missed" in escalation.subject
    assert escalation.extra_headers["Auto-Submitted"] == "auto-generated"
    at(seoul(2026, 9, 25, 9))
    sweep()
    assert len(mail.outbox) == 4
    stages = sorted(SentNotification.objects.filter(ticket=ticket).values_list("kind", "stage", "delivery_status"))
    assert stages == [
        ("escalation", "overdue@2026-09-21", "sent"),
        ("reminder", "0@2026-09-21", "sent"),
        ("reminder", "1@2026-09-21", "sent"),
        ("reminder", "3@2026-09-21", "sent"),
    ]


def test_a_ticket_first_seen_one_day_out_gets_only_the_most_urgent_stage(
    ticket_at: Any, admin_user: User, at: Any, sweep: Any
) -> None:
    ticket_at(seoul(2026, 9, 11, 10))
    at(seoul(2026, 9, 20, 9))
    result = sweep()
    assert len(result.reminders) == 1
    assert SentNotification.objects.get().stage == "1@2026-09-21"


def test_unassigned_tickets_remind_the_managers_and_policy_contacts_get_escalations(
    ticket_at: Any, manager: User, at: Any, sweep: Any
) -> None:
    SlaPolicy.objects.filter(request_type="access", jurisdiction="kr").update(
        escalation_emails="dpo@micube.co.kr\nlegal@micube.co.kr")
    ticket = ticket_at(seoul(2026, 9, 11, 10))
    assert ticket.assignee_id is None  # no administrator exists
    at(seoul(2026, 9, 21, 9))
    sweep()
    [reminder] = mail.outbox
    assert reminder.to == [manager.email]
    assert "담당자가 없습니다" in reminder.body
    at(seoul(2026, 9, 22, 9))
    sweep()
    assert mail.outbox[1].to == [manager.email, "dpo@micube.co.kr", "legal@micube.co.kr"]


def test_paused_and_answered_tickets_get_no_reminders(
    ticket_at: Any, admin_user: User, at: Any, sweep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    paused = ticket_at(seoul(2026, 9, 11, 10))
    answered = ticket_at(seoul(2026, 9, 11, 11), email="other@example.com")
    at(seoul(2026, 9, 14, 9))
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=paused, name="request_info", actor=admin_user, question="신분증?")
        services.transition_ticket(ticket=answered, name="reject", actor=admin_user,
                                   reason="no_data_held", explanation="보유한 정보가 없습니다.")
    mail.outbox.clear()
    for day in (18, 20, 21, 22, 23):
        at(seoul(2026, 9, day, 9))
        sweep()
    assert mail.outbox == []
    assert not SentNotification.objects.exists()


def test_a_moved_deadline_gets_its_own_reminders_and_stale_claims_are_cancelled(
    ticket_at: Any, admin_user: User, at: Any, sweep: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10))
    at(seoul(2026, 9, 18, 9))
    run_sweep(enqueue=False)  # claimed, but the worker has not sent it yet
    extend_deadline(ticket=ticket, actor=admin_user, reason="자료 수집 중")  # due Thu 1 Oct
    mail.outbox.clear()
    from notifications.tasks import deliver_notification

    claim = SentNotification.objects.get(stage="3@2026-09-21")
    assert deliver_notification.delay(claim.pk).get() == "cancelled"
    assert mail.outbox == []
    at(seoul(2026, 9, 28, 9))  # 3 days before the new deadline
    sweep()
    assert [n.stage for n in SentNotification.objects.filter(delivery_status="sent")] == ["3@2026-10-01"]
    assert len(mail.outbox) == 1


def test_claims_that_could_not_be_sent_are_retried_by_a_later_sweep(
    ticket_at: Any, admin_user: User, at: Any, sweep: Any, settings: Any
) -> None:
    ticket_at(seoul(2026, 9, 11, 10))
    at(seoul(2026, 9, 18, 9))
    settings.EMAIL_BACKEND = "tests.deadlines.failing_backend.FailingBackend"
    sweep()
    claim = SentNotification.objects.get()
    assert claim.delivery_status == StaffMailStatus.PENDING
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    at(seoul(2026, 9, 18, 9, 20))
    result = sweep()
    assert result.retried == [claim.pk]
    claim.refresh_from_db()
    assert claim.delivery_status == StaffMailStatus.SENT
    assert len(mail.outbox) == 1


def test_batch_limit_and_constant_query_count(ticket_at: Any, admin_user: User, at: Any) -> None:
    for n in range(3):
        ticket_at(seoul(2026, 9, 11, 10, n), email=f"r{n}@example.com")
    at(seoul(2026, 9, 18, 9))
    with CaptureQueriesContext(connection) as few:
        assert len(run_sweep(enqueue=False).reminders) == 3
    SentNotification.objects.all().delete()
    for n in range(3, 30):
        ticket_at(seoul(2026, 9, 11, 10, n), email=f"r{n}@example.com")
    at(seoul(2026, 9, 18, 9))
    with CaptureQueriesContext(connection) as many:
        assert len(run_sweep(enqueue=False).reminders) == 30
    assert len(many.captured_queries) == len(few.captured_queries)
    SentNotification.objects.all().delete()
    assert len(run_sweep(enqueue=False, limit=7).claimed) == 7
    assert len(run_sweep(enqueue=False, limit=100).claimed) == 23


def test_daily_digest_once_per_administrator_and_day(
    ticket_at: Any, admin_user: User, other_admin: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mine = ticket_at(seoul(2026, 9, 11, 10))
    Ticket.objects.filter(pk=mine.pk).update(assignee=admin_user)
    at(seoul(2026, 9, 19, 8, 30))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(claim_digests()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert claim_digests() == []  # a second beat or cron run the same day
    [digest] = mail.outbox  # the other administrator had nothing due: no mail
    assert digest.to == [admin_user.email]
    assert f"[{mine.reference}]" in digest.body and "2일" not in digest.subject
    assert "Due within 3 days (1)" in digest.body and "3일 안에 기한 (1건)" in digest.body
    assert digest.extra_headers["Auto-Submitted"] == "auto-generated"
    statuses = dict(DigestLog.objects.values_list("user__username", "delivery_status"))
    assert statuses == {admin_user.username: "sent", other_admin.username: "empty"}
    at(seoul(2026, 9, 20, 8, 30))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(claim_digests()) == 2
    assert len(mail.outbox) == 2


def test_sla_sweep_command_prints_what_it_did(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import json
    from io import StringIO

    from django.core.management import call_command

    ticket_at(seoul(2026, 9, 11, 10))
    at(seoul(2026, 9, 18, 7))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sla_sweep", stdout=out)
    assert json.loads(out.getvalue()) == {"reminders": 1, "escalations": 0, "retried": 0, "resent": 0,
                                           "task_reminders": 0}
    at(seoul(2026, 9, 18, 9))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sla_sweep", stdout=out)
    assert json.loads(out.getvalue()) == {"reminders": 0, "escalations": 0, "retried": 0, "resent": 0,
                                           "task_reminders": 0, "digests": 1}
    assert [m.to for m in mail.outbox] == [[admin_user.email], [admin_user.email]]  # reminder, digest
