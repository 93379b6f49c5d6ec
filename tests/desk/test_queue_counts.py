"""The queue counts and the speed-ups of the queue and ticket pages show exactly what they showed.

``selectors.queue_counts`` counts "All" as disjoint parts (an administrator's own tickets plus the
unassigned ones) in one query with the quarantine count: every count must equal a plain recount
through :func:`selectors.visible_tickets`, the visibility rule, for every role.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk.templatetags.desk import display, state_badge
from helpdesk.models import QuarantineStatus, Ticket, User
from workflows.request_types import RequestType
from workflows.states import OPEN_STATES, TicketState

pytestmark = pytest.mark.django_db


def recount(user: Any, now: Any) -> dict[str, int]:
    """Each queue counted the plain way: one COUNT per queue through the visibility rule."""
    from helpdesk.models import Quarantine

    visible = selectors.visible_tickets(user)
    counts = {slug: visible.filter(selectors._queue_q(slug, user, now)).count()
              for slug in selectors.QUEUE_SLUGS if slug != "all"}
    counts["all"] = visible.count()
    counts["quarantine"] = Quarantine.objects.filter(status=QuarantineStatus.PENDING).count()
    return counts


@pytest.fixture
def mixed_tickets(make_ticket: Any, admin_user: User, other_admin: User, make_quarantine: Any) -> list[Ticket]:
    """Open and closed tickets, each administrator's and unassigned ones, some overdue or due soon."""
    tickets = [make_ticket(email=f"r{i}@example.com") for i in range(12)]
    now = timezone.now()
    assignees = [admin_user, other_admin, None]
    states = [TicketState.RECEIVED, TicketState.VERIFIED, TicketState.AWAITING_REQUESTER,
              TicketState.PROCESSED, TicketState.RESPONDED, TicketState.RESPONDED]
    # Test set-up straight in the table, not desk actions: every combination of assignee × state × due.
    for i, ticket in enumerate(tickets):
        Ticket.objects.filter(pk=ticket.pk).update(
            assignee=assignees[i % 3], state=states[i % 6],
            due_at=now + timedelta(days=(-2, 1, 8)[i % 3] + i % 2),
            closed_at=None if states[i % 6] in OPEN_STATES else now)
    make_quarantine()
    make_quarantine(raw=b"From: a@example.com\r\n\r\nsecond")
    make_quarantine(raw=b"From: b@example.com\r\n\r\nthird", status=QuarantineStatus.DISCARDED)
    return tickets


def test_counts_equal_a_plain_recount_for_every_role(mixed_tickets: Any, admin_user: User, other_admin: User,
                                                      manager: User) -> None:
    superuser = User.objects.create_superuser(username="root", password="x-Very-long-password-1")
    nobody = User.objects.create_user(username="someone", password="x-Very-long-password-1")
    now = timezone.now()
    for user in (admin_user, other_admin, manager, superuser, nobody):
        counts = selectors.queue_counts(user, now=now)
        assert counts == recount(user, now), user.username
    assert selectors.queue_counts(manager, now=now)["all"] == 12
    assert selectors.queue_counts(admin_user, now=now)["all"] == 8  # own 4 + unassigned 4
    assert selectors.queue_counts(nobody, now=now)["all"] == 0
    assert selectors.queue_counts(manager, now=now)["quarantine"] == 2


def test_counts_on_an_empty_desk(admin_user: User, manager: User) -> None:
    for user in (admin_user, manager):
        counts = selectors.queue_counts(user)
        assert set(counts) == {*selectors.QUEUE_SLUGS, "quarantine"}
        assert not any(counts.values())


def test_counts_take_two_queries_whatever_the_role(mixed_tickets: Any, admin_user: User, manager: User) -> None:
    for user in (admin_user, manager):
        selectors.queue_counts(user)  # the user's groups are read once per user object
        with CaptureQueriesContext(connection) as queries:
            selectors.queue_counts(user)
        assert len(queries) == 2


def test_display_filter_matches_get_foo_display(mixed_tickets: list[Ticket]) -> None:
    ticket = mixed_tickets[0]
    for language in ("ko", "en"):
        with translation.override(language):
            for value in RequestType.values:
                ticket.request_type = value
                assert display(ticket, "request_type") == ticket.get_request_type_display()
            for value in TicketState.values:
                unsaved = Ticket(state=value)  # the state field refuses direct changes
                assert display(unsaved, "state") == unsaved.get_state_display()
                assert unsaved.get_state_display() in state_badge(unsaved)
            ticket.request_type = "no-such-type"  # an unknown stored value shows as it is, as before
            assert display(ticket, "request_type") == ticket.get_request_type_display() == "no-such-type"


def test_assign_form_shows_the_same_options_and_still_checks_the_queryset(
        admin_user: User, other_admin: User, manager: User) -> None:
    staff = selectors.desk_staff()
    shown = desk_forms.AssignForm(initial={"version": 1, "assignee": other_admin.pk}, staff=staff)
    plain = desk_forms.AssignForm(initial={"version": 1, "assignee": other_admin.pk})
    plain.fields["assignee"].queryset = staff  # type: ignore[attr-defined]  # the field left to itself
    assert str(shown["assignee"]) == str(plain["assignee"])
    assert f'value="{other_admin.pk}" selected' in str(shown["assignee"])
    outsider = User.objects.create_user(username="outsider", password="x-Very-long-password-1")
    submitted = desk_forms.AssignForm({"version": 1, "assignee": outsider.pk}, staff=staff)
    assert not submitted.is_valid() and "assignee" in submitted.errors
    accepted = desk_forms.AssignForm({"version": 1, "assignee": admin_user.pk}, staff=staff)
    assert accepted.is_valid() and accepted.cleaned_data["assignee"] == admin_user


def test_queue_pages_show_the_counts_and_lists(mixed_tickets: list[Ticket], admin_user: User, manager: User,
                                               client_for: Any) -> None:
    for user in (admin_user, manager):
        client = client_for(user)
        counts = selectors.queue_counts(user)
        for slug in selectors.QUEUE_SLUGS:
            page = client.get(reverse("desk:queue_named", kwargs={"slug": slug}))
            assert page.context["counts"] == counts
            assert page.context["page"].paginator.count == counts[slug]
            shown = {t.pk for t in page.context["page"].object_list}
            expected = set(selectors.visible_tickets(user).filter(
                selectors._queue_q(slug, user, timezone.now())).values_list("pk", flat=True))
            assert shown == expected, (user.username, slug)
            for ticket in page.context["page"].object_list:
                assert f"<td class=\"type\">{ticket.get_request_type_display()}</td>" in page.content.decode()


def test_ticket_page_assign_form_for_managers(mixed_tickets: list[Ticket], manager: User, admin_user: User,
                                              other_admin: User, client_for: Any) -> None:
    ticket = Ticket.objects.filter(assignee=admin_user).first()
    assert ticket is not None
    url = reverse("desk:ticket", kwargs={"reference": ticket.reference})
    html = client_for(manager).get(url).content.decode()
    for user in (admin_user, other_admin, manager):
        assert f'<option value="{user.pk}"' in html
    assert f'<option value="{admin_user.pk}" selected>' in html
    response = client_for(manager).post(reverse("desk:assign", kwargs={"reference": ticket.reference}),
                                        {"version": Ticket.objects.get(pk=ticket.pk).version,
                                         "assignee": other_admin.pk})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == other_admin
    services.set_away(user=other_admin, away=True, actor=other_admin)  # still listed: away is not gone
    assert f'<option value="{other_admin.pk}" selected>' in client_for(manager).get(url).content.decode()


def test_later_pages_list_the_same_rows_as_a_plain_slice(make_ticket: Any, manager: User, admin_user: User,
                                                          client_for: Any) -> None:
    from helpdesk.desk.views.queues import PAGE_SIZE

    base = timezone.now() + timedelta(days=5)
    for i in range(2 * PAGE_SIZE + 3):
        ticket = make_ticket(email=f"p{i}@example.com")
        # Ties on the due date too, so the order relies on the id as well.
        Ticket.objects.filter(pk=ticket.pk).update(due_at=base + timedelta(hours=i // 3))
    client = client_for(manager)
    url = reverse("desk:queue_named", kwargs={"slug": "all"})
    for params in ({}, {"sort": "-due"}, {"sort": "received"}, {"assignee": str(admin_user.pk)}):
        everything = selectors.queue_tickets(manager, "all", selectors.QueueFilters(
            sort=params.get("sort", "due"), assignee=params.get("assignee", "")))
        expected = [t.reference for t in everything]
        shown: list[str] = []
        queries = set()
        for number in (1, 2, 3):
            with CaptureQueriesContext(connection) as captured:
                page = client.get(url, {**params, "page": number})
            queries.add(len(captured))
            shown += [t.reference for t in page.context["page"].object_list]
            assert page.context["page"].number == number
        assert shown == expected, params
        assert len(queries) == 1, params  # later pages take no more queries than the first
