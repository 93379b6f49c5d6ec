"""Every transition from every state, allowed and refused, with guards, audit and locking."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.models import AuditEvent, Direction, MessageKind, Ticket
from workflows.states import TicketState as S

# Written by hand from the design (not derived from the code under test).
ALLOWED: dict[str, set[str]] = {
    "verify": {S.RECEIVED, S.AWAITING_REQUESTER},
    "request_info": {S.RECEIVED, S.VERIFIED, S.PROCESSED},
    "resume": {S.AWAITING_REQUESTER},
    "process": {S.VERIFIED},
    "respond": {S.PROCESSED},
    "reject": {S.RECEIVED, S.VERIFIED, S.PROCESSED, S.AWAITING_REQUESTER},
    "withdraw": {S.RECEIVED, S.VERIFIED, S.PROCESSED, S.AWAITING_REQUESTER},
    "reopen": {S.RESPONDED, S.REJECTED},
}
DATA: dict[str, dict[str, Any]] = {
    "verify": {"verification_method": "email_link"},
    "request_info": {"question": "신분증 사본을 보내 주세요."},
    "resume": {},
    "process": {"note": "Exported the customer record."},
    "respond": {},
    "reject": {"reason": "no_data_held", "explanation": "We hold no data about you."},
    "withdraw": {"reason": "requester asked"},
    "reopen": {},
}
EXPECTED_TARGET = {
    "verify": S.VERIFIED, "request_info": S.AWAITING_REQUESTER, "process": S.PROCESSED,
    "respond": S.RESPONDED, "reject": S.REJECTED, "withdraw": S.WITHDRAWN,
}


def put_in_state(ticket: Ticket, state: str) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(state=state, resume_state=S.VERIFIED)
    if state == S.PROCESSED:
        Ticket.objects.filter(pk=ticket.pk).update(processed_at=ticket.received_at)
    ticket.refresh_from_db()
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize("state", [s.value for s in S])
@pytest.mark.parametrize("name", list(ALLOWED))
def test_every_transition_from_every_state(state: str, name: str, make_ticket: Any, manager: Any) -> None:
    ticket = put_in_state(make_ticket(), state)
    if name == "respond" and state == S.PROCESSED:
        services.send_reply(ticket=ticket, author=manager, body_text="Here is your data.")
    if name == "process":  # an access request: carried out by hand, with the reason on record (issue 13)
        record_manual_fulfilment(ticket=ticket, actor=manager, reason="Exported the record by hand.")
    before = AuditEvent.objects.filter(ticket=ticket).count()
    if state in ALLOWED[name]:
        services.transition_ticket(ticket=ticket, name=name, actor=manager, **DATA[name])
        ticket.refresh_from_db()
        if name in EXPECTED_TARGET:
            assert ticket.state == EXPECTED_TARGET[name]
        event = AuditEvent.objects.filter(ticket=ticket, action=f"transition.{name}").get()
        assert (event.from_state, event.to_state, event.actor) == (state, ticket.state, manager)
    else:
        with pytest.raises(services.TransitionNotAllowedError):
            services.transition_ticket(ticket=ticket, name=name, actor=manager, **DATA[name])
        ticket.refresh_from_db()
        assert ticket.state == state
        assert AuditEvent.objects.filter(ticket=ticket).count() == before


@pytest.mark.django_db
def test_resume_returns_to_state_before_pause(make_ticket: Any, manager: Any) -> None:
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="email_link")
    services.transition_ticket(ticket=ticket, name="request_info", actor=manager, question="Which account?")
    assert ticket.state == S.AWAITING_REQUESTER and ticket.paused_at is not None
    services.transition_ticket(ticket=ticket, name="resume", actor=manager)
    assert ticket.state == S.VERIFIED and ticket.paused_at is None


@pytest.mark.django_db
def test_respond_needs_an_outbound_reply_after_processing(make_ticket: Any, manager: Any) -> None:
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="email_link")
    record_manual_fulfilment(ticket=ticket, actor=manager, reason="Exported the record by hand.")
    services.transition_ticket(ticket=ticket, name="process", actor=manager, note="done")
    with pytest.raises(services.GuardError) as err:
        services.transition_ticket(ticket=ticket, name="respond", actor=manager)
    assert "reply" in err.value.errors
    services.send_reply(ticket=ticket, author=manager, body_text="완료했습니다.", and_respond=True)
    ticket.refresh_from_db()
    assert ticket.state == S.RESPONDED
    assert ticket.responded_at is not None and ticket.first_response_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("verify", {}, "verification_method"),
        ("verify", {"verification_method": "other"}, "note"),
        ("request_info", {"question": "  "}, "question"),
        ("reject", {"explanation": "x"}, "reason"),
        ("reject", {"reason": "no_data_held"}, "explanation"),
    ],
)
def test_guards_ask_for_their_data(name: str, data: dict[str, Any], field: str, make_ticket: Any,
                                   manager: Any) -> None:
    ticket = make_ticket()
    with pytest.raises(services.GuardError) as err:
        services.transition_ticket(ticket=ticket, name=name, actor=manager, **data)
    assert field in err.value.errors
    ticket.refresh_from_db()
    assert ticket.state == S.RECEIVED


@pytest.mark.django_db
def test_process_needs_a_note(make_ticket: Any, manager: Any) -> None:
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="email_link")
    with pytest.raises(services.GuardError):
        services.transition_ticket(ticket=ticket, name="process", actor=manager, note="")


@pytest.mark.django_db
def test_reject_records_reason_counts_as_response_and_tells_requester(
    make_ticket: Any, manager: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="reject", actor=manager, reason="identity_not_verified",
                                   explanation="신원을 확인할 수 없습니다.")
    assert ticket.state == S.REJECTED and ticket.rejection_reason == "identity_not_verified"
    assert ticket.responded_at is not None
    notice = ticket.messages.filter(direction=Direction.OUTBOUND, kind=MessageKind.REPLY).get()
    assert "신원을 확인할 수 없습니다." in notice.body_text
    assert any(ticket.reference in m.subject for m in mailoutbox if "신원을" in m.body)


@pytest.mark.django_db
def test_requester_may_only_run_requester_transitions(make_ticket: Any) -> None:
    ticket = put_in_state(make_ticket(), S.VERIFIED)
    with pytest.raises(services.PermissionDeniedError):
        services.transition_ticket(ticket=ticket, name="process", actor=None, as_requester=True, note="x")
    services.transition_ticket(ticket=ticket, name="withdraw", actor=None, as_requester=True)
    assert ticket.state == S.WITHDRAWN
    event = AuditEvent.objects.get(ticket=ticket, action="transition.withdraw")
    assert event.actor is None and "requester" in event.actor_label


@pytest.mark.django_db
def test_optimistic_lock_conflict(make_ticket: Any, admin_user: Any, manager: Any) -> None:
    ticket = make_ticket()
    seen_by_first = ticket.version
    seen_by_second = Ticket.objects.get(pk=ticket.pk).version
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, expected_version=seen_by_first,
                               verification_method="email_link")
    stale = Ticket.objects.get(pk=ticket.pk)
    for language, says in (("en", "Someone else changed this ticket"), ("ko", "다른 사람이 이 티켓을 변경했습니다")):
        with translation.override(language), pytest.raises(services.ConflictError) as err:
            services.transition_ticket(ticket=stale, name="reject", actor=manager, expected_version=seen_by_second,
                                       reason="no_data_held", explanation="x")
        assert says in str(err.value)  # in the language of whoever acted
    stale.refresh_from_db()
    assert stale.state == S.VERIFIED


@pytest.mark.django_db
def test_inbound_reply_resumes_a_paused_ticket_and_reopens_an_answered_one(make_ticket: Any, manager: Any) -> None:
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="request_info", actor=manager, question="ID please")
    services.add_inbound_message(
        ticket=ticket, message=services.InboundMessage(sender_email="requester@example.com", body_text="첨부합니다")
    )
    assert ticket.state == S.RECEIVED
    services.transition_ticket(ticket=ticket, name="reject", actor=manager, reason="no_data_held", explanation="x")
    services.add_inbound_message(
        ticket=ticket, message=services.InboundMessage(sender_email="requester@example.com", body_text="왜요?")
    )
    assert ticket.state == S.RECEIVED
    assert AuditEvent.objects.filter(ticket=ticket, action="transition.reopen").exists()
