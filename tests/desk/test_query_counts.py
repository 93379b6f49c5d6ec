"""The queue and ticket pages run a fixed number of SQL queries, whatever the number of rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("slug", ["all", "mine", "due-soon"])
def test_queue_page_query_count_is_constant(make_ticket: Any, admin_user: Any, manager: Any, client_for: Any,
                                            slug: str, response_template: Any) -> None:
    for i in range(5):
        make_ticket(email=f"r{i}@example.com")
    url = reverse("desk:queue_named", kwargs={"slug": slug}) + "?page_size_ignored=1"
    clients = {"admin": client_for(admin_user), "manager": client_for(manager)}
    small = {who: count_queries(c, url) for who, c in clients.items()}
    for i in range(5, 50):
        make_ticket(email=f"r{i}@example.com")
    large = {who: count_queries(c, url) for who, c in clients.items()}
    assert small == large
    filtered = url + "&request_type=access&search=example"
    assert count_queries(clients["admin"], filtered) == count_queries(clients["admin"], filtered + "&page=2")


def test_ticket_page_query_count_is_constant(make_ticket: Any, admin_user: Any, manager: Any, client_for: Any,
                                             add_messages: Any, response_template: Any) -> None:
    from helpdesk import services

    ticket = make_ticket()
    add_messages(ticket, 4)
    url = reverse("desk:ticket", kwargs={"reference": ticket.reference})
    clients = [client_for(admin_user), client_for(manager)]
    for c in clients:
        c.get(url)  # first view writes the access log; later ones within 10 minutes do not
    small = [count_queries(c, url) for c in clients]
    add_messages(ticket, 45)
    for _ in range(5):
        services.add_note(ticket=ticket, author=admin_user, body_text="note")
    for i in range(5):
        make_ticket(subject=f"other {i}")  # the requester's other tickets
    large = [count_queries(c, url) for c in clients]
    assert small == large
