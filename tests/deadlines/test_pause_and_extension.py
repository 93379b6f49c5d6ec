"""The clock pauses while awaiting the requester; an extension is granted once, with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.models import AuditEvent, MessageKind, Ticket, User
from helpdesk.services import extend_deadline
from tests.deadlines.conftest import seoul
from workflows.models import PeriodUnit, SlaPolicy


def _ask_and_answer(ticket: Ticket, admin: User, at: Any, asked: Any, answered: Any,
                    capture: Any) -> Ticket:
    at(asked)
    with capture(execute=True):
        services.transition_ticket(ticket=ticket, name="request_info", actor=admin,
                                   question="신분증 사본을 보내 주세요. / Please send proof of identity.")
    at(answered)
    with capture(execute=True):
        services.add_inbound_message(ticket=ticket, message=services.InboundMessage(
            sender_email="requester@example.com", body_text="첨부합니다.", subject=f"Re: [{ticket.reference}]"))
    ticket.refresh_from_db()
    return ticket


def test_pause_across_chuseok_moves_the_deadline_and_is_in_the_history(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 18, 10))  # Fri; day 10 = Mon 28 Sep
    assert ticket.due_at == seoul(2026, 9, 28, 23, 59, 59)
    # Asked Wed 23 Sep, answered Mon 28 Sep: 5 days paused (over Chuseok 24–26 Sep).
    ticket = _ask_and_answer(ticket, admin_user, at, seoul(2026, 9, 23, 10), seoul(2026, 9, 28, 9),
                             django_capture_on_commit_callbacks)
    # Mon 28 + 5 = Sat 3 Oct (Foundation Day), Sun 4, Mon 5 (substitute) → Tue 6 Oct.
    assert ticket.due_at == seoul(2026, 10, 6, 23, 59, 59)
    assert ticket.state == "received" and ticket.paused_at is None
    assert ticket.paused_days == 5
    assert ticket.paused_seconds == (seoul(2026, 9, 28, 9) - seoul(2026, 9, 23, 10)).total_seconds()
    event = AuditEvent.objects.get(ticket=ticket, action="sla.clock_resumed")
    assert event.data["paused_days"] == 5
    assert event.data["due_before"] == seoul(2026, 9, 28, 23, 59, 59).isoformat()
    assert event.data["due_after"] == seoul(2026, 10, 6, 23, 59, 59).isoformat()


def test_pause_under_a_business_day_policy_counts_working_days(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    SlaPolicy.objects.filter(request_type="inquiry", jurisdiction="kr").update(unit=PeriodUnit.BUSINESS_DAYS)
    ticket = ticket_at(seoul(2026, 9, 18, 10), request_type="inquiry")
    assert ticket.due_at.date() == seoul(2026, 10, 7).date()
    ticket = _ask_and_answer(ticket, admin_user, at, seoul(2026, 9, 23, 10), seoul(2026, 9, 28, 9),
                             django_capture_on_commit_callbacks)
    # Only Mon 28 Sep was a working day of the pause: one business day later, Thu 8 Oct.
    assert ticket.paused_days == 1
    assert ticket.due_at == seoul(2026, 10, 8, 23, 59, 59)


def test_same_day_answer_moves_nothing_but_is_recorded(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 18, 10))
    ticket = _ask_and_answer(ticket, admin_user, at, seoul(2026, 9, 21, 9), seoul(2026, 9, 21, 15),
                             django_capture_on_commit_callbacks)
    assert ticket.due_at == seoul(2026, 9, 28, 23, 59, 59)
    assert ticket.paused_seconds == 6 * 3600
    assert AuditEvent.objects.get(ticket=ticket, action="sla.clock_resumed").data["paused_days"] == 0


def test_resolution_figures_leave_out_the_pause(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 18, 10))
    ticket = _ask_and_answer(ticket, admin_user, at, seoul(2026, 9, 21, 10), seoul(2026, 9, 22, 10),
                             django_capture_on_commit_callbacks)
    at(seoul(2026, 9, 22, 12))
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="id_document")
        record_manual_fulfilment(ticket=ticket, actor=admin_user, reason="열람 자료를 수작업으로 준비했습니다.")
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="열람 자료 준비")
        services.send_reply(ticket=ticket, author=admin_user, body_text="자료를 첨부합니다.", and_respond=True)
    ticket.refresh_from_db()
    assert ticket.state == "responded"
    total = int((seoul(2026, 9, 22, 12) - seoul(2026, 9, 18, 10)).total_seconds())
    assert ticket.resolution_seconds == total
    assert ticket.active_seconds == total - 24 * 3600
    assert ticket.first_response_at == seoul(2026, 9, 21, 10)


def test_rejected_while_paused_counts_the_open_pause(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 18, 10))
    at(seoul(2026, 9, 19, 10))
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="request_info", actor=admin_user, question="신분증?")
    at(seoul(2026, 9, 29, 10))
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="reject", actor=admin_user,
                                   reason="identity_not_verified", explanation="본인 확인 불가")
    ticket.refresh_from_db()
    assert ticket.resolution_seconds == 11 * 86400
    assert ticket.active_seconds == 86400


def test_extension_once_with_reason_notifies_the_requester_and_is_audited(
    ticket_at: Any, admin_user: User, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10))  # due Mon 21 Sep
    at(seoul(2026, 9, 17, 10))
    with pytest.raises(services.GuardError) as missing:
        extend_deadline(ticket=ticket, actor=admin_user, reason="  ")
    assert "reason" in missing.value.errors
    with django_capture_on_commit_callbacks(execute=True):
        extend_deadline(ticket=ticket, actor=admin_user, reason="자료가 여러 시스템에 흩어져 있습니다.",
                        expected_version=ticket.version)
    ticket.refresh_from_db()
    # Mon 21 Sep + 10 days = Thu 1 Oct, a working day.
    assert ticket.due_at == seoul(2026, 10, 1, 23, 59, 59)
    assert ticket.extension_count == 1
    [notice_mail] = mail.outbox
    assert notice_mail.to == ["requester@example.com"]
    assert f"[{ticket.reference}]" in notice_mail.subject
    assert "처리 기한을 연장" in notice_mail.body and "New deadline: 1 October 2026" in notice_mail.body
    assert "자료가 여러 시스템에 흩어져 있습니다." in notice_mail.body
    assert notice_mail.extra_headers["Auto-Submitted"] == "auto-generated"
    assert ticket.messages.filter(kind=MessageKind.NOTICE, subject=notice_mail.subject).exists()
    event = AuditEvent.objects.get(ticket=ticket, action="sla.extended")
    assert event.actor_id == admin_user.pk
    assert event.data["due_after"] == seoul(2026, 10, 1, 23, 59, 59).isoformat()
    assert event.data["reason"] == "자료가 여러 시스템에 흩어져 있습니다."
    # Once only (KR policy: one extension).
    with pytest.raises(services.GuardError):
        extend_deadline(ticket=ticket, actor=admin_user, reason="또 연장")
    ticket.refresh_from_db()
    assert ticket.extension_count == 1 and ticket.due_at == seoul(2026, 10, 1, 23, 59, 59)


def test_gdpr_extension_adds_two_months(ticket_at: Any, admin_user: User, at: Any) -> None:
    ticket = ticket_at(seoul(2026, 1, 31, 12), jurisdiction="gdpr")
    assert ticket.due_at.date() == seoul(2026, 3, 3).date()
    at(seoul(2026, 2, 20, 10))
    extend_deadline(ticket=ticket, actor=admin_user, reason="Complex request, several systems.")
    ticket.refresh_from_db()
    # 3 Mar + 2 months = Sun 3 May → Mon 4 May 2026.
    assert ticket.due_at == seoul(2026, 5, 4, 23, 59, 59)


def test_extension_needs_permission_and_the_current_version(
    ticket_at: Any, admin_user: User, other_admin: User, manager: User
) -> None:
    ticket = ticket_at(seoul(2026, 9, 11, 10))
    assert ticket.assignee_id is not None
    outsider = other_admin if ticket.assignee_id == admin_user.pk else admin_user
    with pytest.raises(services.PermissionDeniedError):
        extend_deadline(ticket=ticket, actor=outsider, reason="not mine")
    with pytest.raises(services.ConflictError):
        extend_deadline(ticket=ticket, actor=manager, reason="stale page", expected_version=ticket.version - 1)
    extend_deadline(ticket=ticket, actor=manager, reason="manager decided", expected_version=ticket.version)
    ticket.refresh_from_db()
    assert ticket.extension_count == 1
