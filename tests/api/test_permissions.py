"""Permission matrix: every endpoint × anonymous / requester link / administrator / manager.

Requesters have no accounts: holding a valid requester link (signed token) gives no API access.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from helpdesk.models import Quarantine, Ticket, User
from helpdesk.public.tokens import make_link_token
from tests.api.conftest import token_client
from workflows.models import SlaPolicy

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[Ticket], str]
    body: dict[str, Any] | None
    admin: int  # expected status for the ticket's assigned administrator
    manager: int


def _policy_path(_: Ticket) -> str:
    return f"/api/v1/sla-policies/{SlaPolicy.objects.order_by('pk').first().pk}/"  # type: ignore[union-attr]


def _requester_path(t: Ticket) -> str:
    return f"/api/v1/requesters/{t.requester_id}/"


def _quarantine_path(_: Ticket) -> str:
    return f"/api/v1/quarantine/{Quarantine.objects.get().pk}/"


NEW_TICKET = {"requester_email": "caller@example.com", "subject": "전화 요청", "body_text": "열람 요청",
              "request_type": "access"}
ENDPOINTS = [
    Endpoint("list tickets", "get", lambda t: "/api/v1/tickets/", None, 200, 200),
    Endpoint("create ticket", "post", lambda t: "/api/v1/tickets/", NEW_TICKET, 201, 201),
    Endpoint("ticket detail", "get", lambda t: f"/api/v1/tickets/{t.reference}/", None, 200, 200),
    Endpoint("messages", "get", lambda t: f"/api/v1/tickets/{t.reference}/messages/", None, 200, 200),
    Endpoint("reply", "post", lambda t: f"/api/v1/tickets/{t.reference}/messages/", {"body_text": "답변"}, 201, 201),
    Endpoint("note", "post", lambda t: f"/api/v1/tickets/{t.reference}/notes/", {"body_text": "메모"}, 201, 201),
    Endpoint("transition", "post", lambda t: f"/api/v1/tickets/{t.reference}/transitions/verify/",
             {"verification_method": "email_link"}, 200, 200),
    Endpoint("assignment", "post", lambda t: f"/api/v1/tickets/{t.reference}/assignment/",
             {"assignee": "moonwon.park"}, 200, 200),
    Endpoint("requesters", "get", lambda t: "/api/v1/requesters/", None, 200, 200),
    Endpoint("requester", "get", _requester_path, None, 200, 200),
    Endpoint("request types", "get", lambda t: "/api/v1/request-types/", None, 200, 200),
    Endpoint("sla policies", "get", lambda t: "/api/v1/sla-policies/", None, 200, 200),
    Endpoint("sla policy", "get", _policy_path, None, 200, 200),
    Endpoint("change sla policy", "patch", _policy_path, {"legal_basis": "PIPA Art. 35"}, 403, 200),
    Endpoint("add sla policy", "post", lambda t: "/api/v1/sla-policies/",
             {"request_type": "inquiry", "jurisdiction": "kr", "period": 5}, 403, 201),
    Endpoint("quarantine", "get", lambda t: "/api/v1/quarantine/", None, 200, 200),
    Endpoint("quarantined message", "get", _quarantine_path, None, 200, 200),
    Endpoint("figures", "get", lambda t: "/api/v1/metrics/response-times/", None, 403, 200),
    Endpoint("export tickets", "get", lambda t: "/api/v1/exports/tickets/", None, 200, 200),
    Endpoint("export figures", "get", lambda t: "/api/v1/exports/figures/", None, 403, 200),
]


@pytest.fixture
def world(make_ticket: Any, admin_user: User, manager: User) -> Ticket:
    SlaPolicy.objects.filter(request_type="inquiry", jurisdiction="kr").delete()  # room for "add sla policy"
    Quarantine.objects.create(reason="no_from", raw_message="raw/x.eml", dedupe_key="digest:x",
                              received_at=make_ticket().received_at)
    ticket = make_ticket(email="owner@example.com")
    assert ticket.assignee == admin_user
    return ticket


def call(client: APIClient, endpoint: Endpoint, ticket: Ticket) -> Any:
    return getattr(client, endpoint.method)(endpoint.path(ticket), endpoint.body, format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_anonymous_gets_401(world: Ticket, endpoint: Endpoint) -> None:
    response = call(APIClient(), endpoint, world)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_requester_link_gives_no_api_access(world: Ticket, endpoint: Endpoint) -> None:
    link = make_link_token(world, "status")
    as_header = APIClient()
    as_header.credentials(HTTP_AUTHORIZATION=f"Token {link}")
    assert call(as_header, endpoint, world).status_code == 401
    as_query = Endpoint(endpoint.name, endpoint.method, lambda t: f"{endpoint.path(t)}?token={link}", endpoint.body,
                        0, 0)
    assert call(APIClient(), as_query, world).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_administrator(world: Ticket, endpoint: Endpoint, admin_user: User) -> None:
    response = call(token_client(admin_user), endpoint, world)
    assert response.status_code == endpoint.admin, response.content
    if endpoint.admin == 403:
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_manager(world: Ticket, endpoint: Endpoint, manager: User) -> None:
    response = call(token_client(manager), endpoint, world)
    assert response.status_code == endpoint.manager, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_signed_in_without_a_desk_role_gets_403(world: Ticket, endpoint: Endpoint) -> None:
    nobody = User.objects.create_user(username="nobody", password="x-Very-long-password-1")
    response = call(token_client(nobody), endpoint, world)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


TICKET_ENDPOINTS = [e for e in ENDPOINTS
                    if e.name in {"ticket detail", "messages", "reply", "note", "transition", "assignment"}]


@pytest.mark.parametrize("endpoint", TICKET_ENDPOINTS, ids=lambda e: e.name)
def test_another_administrators_ticket_is_forbidden(world: Ticket, endpoint: Endpoint, make_admin: Any) -> None:
    """Same rule as the desk: an administrator sees their own and unassigned tickets only."""
    intruder = make_admin("someone.else")
    response = call(token_client(intruder), endpoint, world)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_unassigned_ticket_visible_but_not_actionable(world: Ticket, make_admin: Any, manager: User) -> None:
    other = make_admin("someone.else")
    Ticket.objects.filter(pk=world.pk).update(assignee=None)
    client = token_client(other)
    assert client.get(f"/api/v1/tickets/{world.reference}/").status_code == 200
    assert world.reference in [t["reference"] for t in client.get("/api/v1/tickets/").json()["results"]]
    response = client.post(f"/api/v1/tickets/{world.reference}/notes/", {"body_text": "x"}, format="json")
    assert response.status_code == 403
    # Taking it for oneself is allowed.
    taken = client.post(f"/api/v1/tickets/{world.reference}/assignment/", {"assignee": "someone.else"}, format="json")
    assert taken.status_code == 200 and taken.json()["assignee"]["username"] == "someone.else"


def test_administrator_list_is_scoped(world: Ticket, make_ticket: Any, make_admin: Any, manager: User,
                                      admin_user: User) -> None:
    other = make_admin("someone.else")
    theirs = make_ticket(email="x@example.com")
    Ticket.objects.filter(pk=theirs.pk).update(assignee=other)
    seen_by_admin = {t["reference"] for t in token_client(admin_user).get("/api/v1/tickets/").json()["results"]}
    seen_by_manager = {t["reference"] for t in token_client(manager).get("/api/v1/tickets/").json()["results"]}
    assert world.reference in seen_by_admin and theirs.reference not in seen_by_admin
    assert {world.reference, theirs.reference} <= seen_by_manager
    # Requesters follow their tickets.
    emails = {r["email"] for r in token_client(other).get("/api/v1/requesters/").json()["results"]}
    assert "x@example.com" in emails and "owner@example.com" not in emails


def test_session_authentication_works(world: Ticket, client: Any, manager: User) -> None:
    client.force_login(manager)
    assert client.get("/api/v1/tickets/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_schema_and_its_viewers_are_staff_only(client: Any, path: str, settings: Any) -> None:
    """Issue 25.15: they list every endpoint and field of the desk."""
    settings.DEBUG = False
    assert client.get(path).status_code == 403
    client.force_login(User.objects.create_user("not-staff", password="x"))  # an account without a desk role
    assert client.get(path).status_code == 403


def test_schema_and_docs_are_served(client: Any, admin_user: User) -> None:
    client.force_login(admin_user)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/tickets/{reference}/transitions/{name}/" in paths
    assert "/api/v1/metrics/response-times/" in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/schema"):
                continue
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # served locally (drf-spectacular-sidecar)
