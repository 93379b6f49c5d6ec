"""Issue 31, point 2 on the desk (test client): the bulk bar for working roles only, the job page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from helpdesk import services
from helpdesk.models import AuditEvent, BulkJob, Ticket, User
from tests.support.pagecheck import duplicate_ids
from workflows.roles import AUDITOR_GROUP


@pytest.fixture
def auditor(db: Any) -> User:
    user = User.objects.create_user(username="auditor", password="x-Very-long-password-1")
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    return user


def test_the_bar_is_for_working_roles_and_auditors_cannot_post(
        make_ticket: Callable[..., Ticket], admin_user: User, auditor: User,
        client_for: Callable[[User], Client]) -> None:
    ticket = make_ticket()
    page = client_for(admin_user).get("/en/desk/queues/all/")
    html = page.content.decode()
    assert 'id="bulk-form"' in html and f'value="{ticket.reference}" form="bulk-form"' in html
    assert duplicate_ids(html) == []
    assert 'id="bulk-form"' not in client_for(auditor).get("/en/desk/queues/all/").content.decode()
    refused = client_for(auditor).post("/en/desk/bulk/", {"bulk-action": "extend", "tickets": [ticket.reference],
                                                          "bulk-reason": "x"})
    assert refused.status_code == 403
    assert not BulkJob.objects.exists()


def test_ticked_rows_start_a_job_and_its_page_shows_the_summary(
        make_ticket: Callable[..., Ticket], admin_user: User, make_admin: Callable[..., User], manager: User,
        client_for: Callable[[User], Client], django_capture_on_commit_callbacks: Any) -> None:
    mine = make_ticket(email="a@example.com")
    closed = make_ticket(email="b@example.com")  # both dealt to the only administrator
    other_admin = make_admin("hyojoon.shim")
    services.transition_ticket(ticket=closed, name="withdraw", actor=manager)
    client = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/desk/bulk/", {"bulk-action": "extend", "bulk-reason": "폭증",
                                                  "tickets": [mine.reference, closed.reference.lower()]})
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/desk/bulk/{job.pk}/")
    page = client.get(f"/en/desk/bulk/{job.pk}/").content.decode()
    assert 'data-status="done"' in page and 'id="bulk-done">1<' in page
    assert 'id="bulk-skipped">1<' in page and closed.reference in page  # with the reason
    assert "A closed ticket&#x27;s deadline cannot be extended." in page
    assert AuditEvent.objects.filter(action="bulk.started", actor=admin_user).count() == 1
    assert client_for(other_admin).get(f"/en/desk/bulk/{job.pk}/").status_code == 404
    assert client_for(manager).get(f"/en/desk/bulk/{job.pk}/").status_code == 200


def test_nothing_selected_or_a_missing_reason_is_a_400_page(
        make_ticket: Callable[..., Ticket], admin_user: User, client_for: Callable[[User], Client]) -> None:
    ticket = make_ticket()
    client = client_for(admin_user)
    empty = client.post("/en/desk/bulk/", {"bulk-action": "extend", "bulk-reason": "x"})
    assert empty.status_code == 400 and "Tick some tickets" in empty.content.decode()
    no_reason = client.post("/en/desk/bulk/", {"bulk-action": "extend", "tickets": [ticket.reference]})
    assert no_reason.status_code == 400 and "Give the reason" in no_reason.content.decode()
    assert not BulkJob.objects.exists()
