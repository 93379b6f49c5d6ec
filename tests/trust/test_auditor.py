"""The read-only auditor role: sees every ticket, the audit trail and the figures; changes nothing,
through the desk, the API (session or token) or any other unsafe request."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from helpdesk.models import AuditEvent, Message, Ticket, User
from helpdesk.services import ServiceError, assign_ticket
from workflows.roles import AUDITOR_GROUP, can_act_on_ticket, is_desk_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(db: Any) -> User:
    user = User.objects.create_user(username="audi.tor", password="x-Very-long-password-1", display_name="Audi Tor")
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))  # the group comes from migration 0014
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _snapshot(ticket: Ticket) -> tuple[Any, ...]:
    ticket.refresh_from_db()
    return (ticket.state, ticket.version, ticket.assignee_id, ticket.request_type, ticket.due_at,
            Message.objects.filter(ticket=ticket).count(), AuditEvent.objects.filter(ticket=ticket).count())


def test_an_auditor_sees_every_ticket_its_audit_trail_and_the_figures(
        auditor: User, admin_user: User, make_ticket: Any) -> None:
    mine = make_ticket(email="a@example.com")
    assign_ticket(ticket=mine, assignee=admin_user, actor=admin_user)
    unassigned = make_ticket(email="b@example.com")
    client = _client(auditor)
    queue = client.get(reverse("desk:queue")).content.decode()
    assert mine.reference in queue and unassigned.reference in queue
    page = client.get(reverse("desk:ticket", kwargs={"reference": mine.reference}))
    assert page.status_code == 200
    assert "ticket.assigned" in page.content.decode() or AuditEvent.objects.filter(ticket=mine).exists()
    assert client.get(reverse("dashboard:index")).status_code == 200
    assert client.get(reverse("dashboard:export_figures")).status_code == 200
    api = client.get("/api/v1/tickets/")
    assert api.status_code == 200 and {t["reference"] for t in api.json()["results"]} >= {mine.reference,
                                                                                          unassigned.reference}
    assert client.get("/api/v1/metrics/response-times/").status_code == 200


def test_an_auditor_changes_nothing_through_the_desk(auditor: User, admin_user: User, make_ticket: Any) -> None:
    ticket = make_ticket()
    before = _snapshot(ticket)
    client = _client(auditor)
    ref = {"reference": ticket.reference}
    posts = [
        (reverse("desk:take", kwargs=ref), {}),
        (reverse("desk:assign", kwargs=ref), {"assignee": admin_user.pk}),
        (reverse("desk:reply", kwargs=ref), {"body": "Hello", "version": ticket.version}),
        (reverse("desk:note", kwargs=ref), {"body": "note", "version": ticket.version}),
        (reverse("desk:reclassify", kwargs=ref), {"request_type": "deletion", "version": ticket.version}),
        (reverse("desk:transition", kwargs={**ref, "name": "start"}), {"version": ticket.version}),
        (reverse("desk:extend", kwargs=ref), {"reason": "x", "version": ticket.version}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert _snapshot(ticket) == before
    page = client.get(reverse("desk:ticket", kwargs=ref)).content.decode()
    assert f'action="{reverse("desk:reply", kwargs=ref)}"' not in page  # no action forms are offered
    assert client.post(reverse("desk:logout")).status_code in {200, 302}  # signing out still works
    assert client.get(reverse("desk:queue")).status_code == 302


def test_an_auditor_changes_nothing_through_the_api_with_a_session_or_a_token(
        auditor: User, make_ticket: Any) -> None:
    ticket = make_ticket()
    before = _snapshot(ticket)
    token = Token.objects.create(user=auditor)
    for client, headers in ((_client(auditor), {}), (Client(), {"HTTP_AUTHORIZATION": f"Token {token.key}"})):
        assert client.get("/api/v1/tickets/", **headers).status_code == 200
        patch = client.patch(f"/api/v1/tickets/{ticket.reference}/", {"request_type": "deletion"},
                             content_type="application/json", **headers)
        assert patch.status_code == 403
        run = client.post(f"/api/v1/tickets/{ticket.reference}/transitions/start/", {},
                          content_type="application/json", **headers)
        assert run.status_code == 403
    assert _snapshot(ticket) == before


def test_the_auditor_role_gives_no_working_rights(auditor: User, admin_user: User, other_admin: User,
                                                  manager: User, make_ticket: Any) -> None:
    ticket = make_ticket()
    assert not is_desk_staff(auditor) and not can_act_on_ticket(auditor, ticket)
    with pytest.raises(ServiceError):
        assign_ticket(ticket=ticket, assignee=auditor, actor=manager)  # never assignable
    # An administrator who is also an auditor still acts only on the tickets assigned to them.
    admin_user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    admin_user.__dict__.pop("_desk_group_names", None)
    assign_ticket(ticket=ticket, assignee=other_admin, actor=manager)
    ticket.refresh_from_db()
    assert not can_act_on_ticket(admin_user, ticket)
    assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    ticket.refresh_from_db()
    assert can_act_on_ticket(admin_user, ticket)
