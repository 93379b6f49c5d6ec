"""Who may act: the assigned administrator or a manager; never another administrator."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk import services
from helpdesk.models import AuditEvent, Direction
from workflows.states import TicketState as S


@pytest.mark.django_db
def test_assigned_administrator_may_act(make_ticket: Any, admin_user: Any) -> None:
    ticket = make_ticket()
    assert ticket.assignee == admin_user  # the only administrator gets it automatically
    services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="id_document")
    assert ticket.state == S.VERIFIED


@pytest.mark.django_db
def test_other_administrator_may_not_act_or_note(make_ticket: Any, admin_user: Any, make_admin: Any) -> None:
    ticket = make_ticket()
    intruder = make_admin("someone.else", is_away=True)
    with pytest.raises(services.PermissionDeniedError):
        services.transition_ticket(ticket=ticket, name="verify", actor=intruder, verification_method="id_document")
    with pytest.raises(services.PermissionDeniedError):
        services.add_note(ticket=ticket, author=intruder, body_text="hi")
    with pytest.raises(services.PermissionDeniedError):
        services.send_reply(ticket=ticket, author=intruder, body_text="hi")
    ticket.refresh_from_db()
    assert ticket.state == S.RECEIVED


@pytest.mark.django_db
def test_anonymous_cannot_act(make_ticket: Any) -> None:
    with pytest.raises(services.PermissionDeniedError):
        services.transition_ticket(ticket=make_ticket(), name="verify", actor=None, verification_method="email_link")


@pytest.mark.django_db
def test_manager_reassigns_administrator_cannot(make_ticket: Any, admin_user: Any, other_admin: Any,
                                                manager: Any) -> None:
    ticket = make_ticket()
    first = ticket.assignee
    second = other_admin if first == admin_user else admin_user
    with pytest.raises(services.PermissionDeniedError):
        services.assign_ticket(ticket=ticket, assignee=second, actor=second)
    services.assign_ticket(ticket=ticket, assignee=second, actor=manager)
    assert ticket.assignee == second
    event = AuditEvent.objects.filter(ticket=ticket, action="ticket.assigned").last()
    assert event is not None and event.data == {"from": first.username, "to": second.username, "how": "manual"}


@pytest.mark.django_db
def test_administrator_takes_unassigned_ticket(make_ticket: Any, make_admin: Any) -> None:
    ticket = make_ticket()  # no administrators yet → unassigned
    assert ticket.assignee is None
    admin = make_admin("taker")
    services.assign_ticket(ticket=ticket, assignee=admin, actor=admin)
    assert ticket.assignee == admin


@pytest.mark.django_db
def test_notes_are_internal(make_ticket: Any, admin_user: Any, mailoutbox: Any) -> None:
    ticket = make_ticket()
    sent_before = len(mailoutbox)
    note = services.add_note(ticket=ticket, author=admin_user, body_text="Checked CRM: no record.")
    assert note.direction == Direction.NOTE and not note.is_public
    assert len(mailoutbox) == sent_before
