"""References, deadlines per request type, assignment fairness, audit chain, acknowledgement."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from helpdesk import services
from helpdesk.models import AuditEvent, MessageKind, Ticket
from helpdesk.trust.audit import event_hash
from workflows.models import SlaPolicy

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.mark.django_db
def test_references_are_sequential_per_year(make_ticket: Any) -> None:
    with time_machine.travel(datetime(2026, 12, 31, 23, 0, tzinfo=SEOUL), tick=False):
        a, b = make_ticket(), make_ticket()
    with time_machine.travel(datetime(2027, 1, 1, 0, 30, tzinfo=SEOUL), tick=False):
        c = make_ticket()
    assert [a.reference, b.reference, c.reference] == ["PRIV-2026-0001", "PRIV-2026-0002", "PRIV-2027-0001"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("request_type", "received", "due"),
    [
        # Wed 2026-11-04 → +10 days = Sat 14th → next working day Mon 16th.
        ("access", datetime(2026, 11, 4, 10, 0), datetime(2026, 11, 16, 23, 59, 59)),
        # Mon 2026-11-02 → Thu 12th.
        ("deletion", datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 12, 23, 59, 59)),
        ("correction", datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 12, 23, 59, 59)),
        ("suspension", datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 12, 23, 59, 59)),
        ("complaint", datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 12, 23, 59, 59)),
    ],
)
def test_due_at_per_request_type(request_type: str, received: datetime, due: datetime, make_ticket: Any) -> None:
    with time_machine.travel(received.replace(tzinfo=SEOUL), tick=False):
        ticket = make_ticket(request_type=request_type)
    assert ticket.due_at == due.replace(tzinfo=SEOUL)


@pytest.mark.django_db
def test_deadline_is_configurable_per_type(make_ticket: Any) -> None:
    SlaPolicy.objects.filter(request_type="inquiry", jurisdiction="kr").update(period=3)
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=SEOUL), tick=False):
        ticket = make_ticket(request_type="inquiry")
    assert ticket.due_at == datetime(2026, 11, 5, 23, 59, 59, tzinfo=SEOUL)


@pytest.mark.django_db
def test_assignment_goes_to_least_loaded_then_round_robin(make_ticket: Any, make_admin: Any) -> None:
    a, b, c = make_admin("a.admin"), make_admin("b.admin"), make_admin("c.admin")
    assignees = [make_ticket().assignee for _ in range(6)]
    assert assignees == [a, b, c, a, b, c]
    # b closes a ticket → b has the fewest open tickets and gets the next one.
    closed = Ticket.objects.filter(assignee=b).first()
    assert closed is not None
    services.transition_ticket(ticket=closed, name="withdraw", actor=None, as_requester=True)
    assert make_ticket().assignee == b


@pytest.mark.django_db
def test_away_administrators_get_no_new_tickets(make_ticket: Any, make_admin: Any) -> None:
    a, b = make_admin("a.admin"), make_admin("b.admin")
    services.set_away(user=a, away=True, actor=a)
    assert {make_ticket().assignee for _ in range(3)} == {b}
    assert AuditEvent.objects.filter(action="staff.away", data__user="a.admin").exists()


@pytest.mark.django_db
def test_audit_chain_links_every_event(make_ticket: Any, manager: Any) -> None:
    ticket = make_ticket()
    services.transition_ticket(ticket=ticket, name="verify", actor=manager, verification_method="email_link")
    services.add_note(ticket=ticket, author=manager, body_text="n")
    events = list(AuditEvent.objects.filter(ticket=ticket).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == ""
    for prev, event in itertools.pairwise(events):
        assert event.prev_hash == prev.hash
    assert all(event_hash(e) == e.hash for e in events)


@pytest.mark.django_db
def test_audit_trail_is_append_only_in_the_orm(make_ticket: Any) -> None:
    make_ticket()
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_new_ticket_is_acknowledged_bilingually_with_loop_headers(make_ticket: Any, mailoutbox: Any) -> None:
    ticket = make_ticket()
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.delivery_status == "sent"
    [mail] = mailoutbox
    assert f"[{ticket.reference}]" in mail.subject
    assert mail.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "접수번호" in mail.body and "Reference" in mail.body
    assert mail.to == ["requester@example.com"]


@pytest.mark.django_db
def test_the_acknowledgement_names_the_request_type_in_each_language(make_ticket: Any, mailoutbox: Any) -> None:
    make_ticket(request_type="deletion")
    [mail] = mailoutbox
    korean, english = mail.body.split("-" * 60)
    assert "요청 유형: 개인정보 삭제" in korean and "Request type: Deletion of personal information" in english


@pytest.mark.django_db
def test_acknowledgements_are_rate_limited_per_sender(make_ticket: Any, mailoutbox: Any) -> None:
    for _ in range(5):
        make_ticket(email="flood@example.com")
    assert len(mailoutbox) == services_ack_limit()


def services_ack_limit() -> int:
    from notifications.services import ACK_LIMIT_PER_HOUR

    return ACK_LIMIT_PER_HOUR


@pytest.mark.django_db(transaction=True)
def test_reference_data_survives_a_flush() -> None:
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from helpdesk.models import RetentionPolicy

    call_command("flush", interactive=False, verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) >= {"manager", "privacy_administrator"}
    assert Group.objects.get(name="manager").permissions.filter(codename="change_slapolicy").exists()
    assert SlaPolicy.objects.filter(request_type="access", jurisdiction="kr", period=10).exists()
    assert RetentionPolicy.objects.filter(category="complaint_dispute", months=36).exists()
