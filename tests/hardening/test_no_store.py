"""Issue 12.4: pages with a person's data tell the browser not to keep them (``Cache-Control: no-store``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from helpdesk.models import Ticket, User
from tests.api.conftest import token_client
from tests.public.conftest import form_data, links_in

pytestmark = pytest.mark.django_db


def assert_no_store(response: Any) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= directives, (response.status_code, response.get("Cache-Control"))


@pytest.fixture
def links(client: Client, settings: Any, django_capture_on_commit_callbacks: Any) -> dict[str, str]:
    settings.DESK_BASE_URL = "http://testserver"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/", form_data(under_14="yes", guardian_name="Kim Parent", guardian_email="parent@example.com"))
    found: dict[str, str] = {}
    for message in mail.outbox:
        found.update(links_in(message))
    assert {"confirm", "guardian", "request"} <= set(found), found
    return found


def test_requester_pages(client: Client, links: dict[str, str]) -> None:
    for name in ("request", "confirm", "guardian"):
        response = client.get(links[name])
        assert response.status_code == 200, (name, response.status_code)
        assert_no_store(response)
    assert_no_store(client.get(links["request"] + "withdraw/"))
    assert_no_store(client.get("/en/submitted/"))
    assert_no_store(client.get("/en/request/not-a-valid-token/"))  # a refused link too


def test_the_public_form_stays_cacheable(client: Client) -> None:
    assert "no-store" not in client.get("/").get("Cache-Control", "")
    assert "no-store" not in client.get("/privacy-policy/").get("Cache-Control", "")


def test_desk_pages(client: Client, make_ticket: Any, admin_user: User, manager: User) -> None:
    ticket: Ticket = make_ticket()
    assert_no_store(client.get("/desk/login/"))
    assert_no_store(client.get("/desk/"))  # the redirect to sign in
    client.force_login(admin_user)
    for url in ("/desk/", "/en/desk/", f"/desk/tickets/{ticket.reference}/", "/desk/queues/overdue/",
                "/desk/tickets/PRIV-1999-0001/", "/desk/no-such-page/"):
        assert_no_store(client.get(url))
    client.force_login(manager)
    assert_no_store(client.get("/desk/dashboard/"))
    assert_no_store(client.get("/desk/dashboard/export/tickets/"))
    assert_no_store(client.get("/admin/"))


def test_api(make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    client = token_client(admin_user)
    assert_no_store(client.get(f"/api/v1/tickets/{ticket.reference}/"))
    assert_no_store(client.get("/api/v1/tickets/"))
