"""Issue 26, point 5, from the outside: the API operation (and its schema), the desk's merge form with its
confirmation step, related links on the page and in the API, and the merged requester's status link."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.test import Client

from helpdesk import services
from helpdesk.models import Channel, Message, Ticket, User
from helpdesk.public import tokens
from tests.api.conftest import token_client
from tests.channels.test_staff_intake import desk
from workflows.states import TicketState

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def two(make_ticket: Callable[..., Ticket]) -> tuple[Ticket, Ticket]:
    stays = make_ticket(email="hong@example.com", subject="열람 요청 메일", body="메일로 보낸 요청입니다.",
                        channel=Channel.EMAIL)
    duplicate = make_ticket(email="hong@example.com", subject="열람 요청 양식", body="양식으로 보낸 같은 요청입니다.")
    return stays, duplicate


# --- API ----------------------------------------------------------------------------------------------
def test_api_merge_answers_the_ticket_that_stays(two: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = two
    api = token_client(manager)
    response = api.post(f"/api/v1/tickets/{duplicate.reference}/merge/", {"into": stays.reference}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reference"] == stays.reference and body["merged_tickets"] == [duplicate.reference]
    assert any(m["body_text"] == "양식으로 보낸 같은 요청입니다." for m in body["messages"])
    merged = api.get(f"/api/v1/tickets/{duplicate.reference}/").json()
    assert merged["state"] == "merged" and merged["merged_into"] == stays.reference and merged["messages"] == []
    assert merged["transitions"] == []


def test_api_merge_errors_are_field_errors(two: tuple[Ticket, Ticket], manager: User,
                                          make_ticket: Callable[..., Ticket]) -> None:
    stays, duplicate = two
    api = token_client(manager)
    api.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = f"/api/v1/tickets/{duplicate.reference}/merge/"

    def fields(payload: dict[str, Any]) -> dict[str, Any]:
        response = api.post(url, payload, format="json")
        assert response.status_code == 400, response.content
        return dict(response.json()["error"]["fields"])

    assert "itself" in str(fields({"into": duplicate.reference})["into"])
    assert "No ticket" in str(fields({"into": "PRIV-1999-9999"})["into"])
    assert "into" in fields({})
    other = make_ticket(email="someone.else@example.com")
    assert "confirm_other_requester" in fields({"into": other.reference})
    stale = api.post(url, {"into": stays.reference, "expected_version": duplicate.version + 5}, format="json")
    assert stale.status_code == 409
    assert Ticket.objects.get(pk=duplicate.pk).state == TicketState.RECEIVED
    confirmed = api.post(url, {"into": other.reference, "confirm_other_requester": True}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["reference"] == other.reference
    closed = api.post(f"/api/v1/tickets/{stays.reference}/merge/", {"into": duplicate.reference}, format="json")
    assert closed.status_code == 400 and other.reference in str(closed.json()["error"]["fields"]["into"])
    # The generic transition endpoint does not run it.
    generic = api.post(f"/api/v1/tickets/{stays.reference}/transitions/merge/", {}, format="json")
    assert generic.status_code == 409


def test_api_related_links_both_ways(two: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = two
    api = token_client(manager)
    linked = api.post(f"/api/v1/tickets/{stays.reference}/related/", {"other": duplicate.reference}, format="json")
    assert linked.status_code == 200 and linked.json()["related"] == [duplicate.reference]
    assert api.get(f"/api/v1/tickets/{duplicate.reference}/").json()["related"] == [stays.reference]
    again = api.post(f"/api/v1/tickets/{duplicate.reference}/related/", {"other": stays.reference}, format="json")
    assert again.status_code == 400 and "other" in again.json()["error"]["fields"]
    removed = api.delete(f"/api/v1/tickets/{duplicate.reference}/related/{stays.reference}/")
    assert removed.status_code == 200 and removed.json()["related"] == []


def test_schema_documents_merge_and_links(manager: User) -> None:
    response = token_client(manager).get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    merge = schema["paths"]["/api/v1/tickets/{reference}/merge/"]["post"]
    assert "confirm_other_requester" in merge["description"]
    ref = merge["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"into", "confirm_other_requester",
                                                                     "expected_version"}
    assert "/api/v1/tickets/{reference}/related/" in schema["paths"]
    detail = schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert {"merged_into", "merged_tickets", "related"} <= set(detail)
    enums = [s.get("enum", []) for s in schema["components"]["schemas"].values()]
    assert any("merged" in values and "withdrawn" in values for values in enums)


# --- Desk -------------------------------------------------------------------------------------------------
def test_desk_merge_asks_then_says_what_moves_then_merges(two: tuple[Ticket, Ticket], admin_user: User,
                                                         manager: User) -> None:
    stays, duplicate = two
    client = desk(manager)
    page = client.get(f"/en/desk/tickets/{duplicate.reference}/").content.decode()
    assert f"/desk/tickets/{duplicate.reference}/merge/" in page
    url = f"/en/desk/tickets/{duplicate.reference}/merge/"
    assert client.get(url).status_code == 200
    itself = client.post(url, {"into": duplicate.reference, "version": duplicate.version})
    assert itself.status_code == 400 and "cannot be merged into itself" in itself.content.decode()
    step2 = client.post(url, {"into": stays.reference, "version": duplicate.version})
    text = text_of(step2.content.decode())
    assert step2.status_code == 200
    assert "2 messages move to" in text and f"Merge into {stays.reference}" in text
    assert Ticket.objects.get(pk=duplicate.pk).state == TicketState.RECEIVED  # nothing yet
    done = client.post(url, {"into": stays.reference, "version": duplicate.version, "confirmed": "1"})
    assert done.status_code == 302 and done["Location"].endswith(f"/desk/tickets/{stays.reference}/")
    page = text_of(client.get(done["Location"]).content.decode())
    assert f"merged {duplicate.reference} into this ticket" in page
    assert "양식으로 보낸 같은 요청입니다." in page and f"from {duplicate.reference}" in page
    # The duplicate's own history shows on the ticket that stays (read from its own audit chain).
    assert f"{duplicate.reference} " in page and "opened the ticket" in page
    merged_page = text_of(client.get(f"/en/desk/tickets/{duplicate.reference}/").content.decode())
    assert f"This ticket was merged into {stays.reference}" in merged_page
    assert f"/desk/tickets/{duplicate.reference}/merge/" not in client.get(
        f"/en/desk/tickets/{duplicate.reference}/").content.decode()  # closed: no merge offered


def test_desk_merge_across_requesters_needs_the_checkbox(two: tuple[Ticket, Ticket], manager: User,
                                                         make_ticket: Callable[..., Ticket]) -> None:
    _stays, duplicate = two
    other = make_ticket(email="someone.else@example.com")
    url = f"/en/desk/tickets/{duplicate.reference}/merge/"
    client = desk(manager)
    step2 = text_of(client.post(url, {"into": other.reference, "version": duplicate.version}).content.decode())
    assert "Different requesters" in step2 and "someone.else@example.com" in step2
    refused = client.post(url, {"into": other.reference, "version": duplicate.version, "confirmed": "1"})
    assert refused.status_code == 400 and "different requester" in refused.content.decode()
    assert Ticket.objects.get(pk=duplicate.pk).state == TicketState.RECEIVED
    done = client.post(url, {"into": other.reference, "version": duplicate.version, "confirmed": "1",
                             "confirm_other_requester": "on"})
    assert done.status_code == 302


def test_desk_merge_is_for_staff_who_may_act(two: tuple[Ticket, Ticket], admin_user: User, other_admin: User,
                                            manager: User) -> None:
    stays, duplicate = two
    services.assign_ticket(ticket=duplicate, assignee=other_admin, actor=manager)
    response = desk(admin_user).post(f"/en/desk/tickets/{duplicate.reference}/merge/",
                                     {"into": stays.reference, "version": 9, "confirmed": "1"})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=duplicate.pk).state == TicketState.RECEIVED


def test_desk_related_links_on_both_pages(two: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = two
    client = desk(manager)
    response = client.post(f"/en/desk/tickets/{stays.reference}/related/", {"other": duplicate.reference})
    assert response.status_code == 302
    page = text_of(client.get(f"/en/desk/tickets/{duplicate.reference}/").content.decode())
    assert f"linked this ticket to {duplicate.reference} as related" in text_of(
        client.get(f"/en/desk/tickets/{stays.reference}/").content.decode())
    assert stays.reference in page
    bad = client.post(f"/en/desk/tickets/{stays.reference}/related/", {"other": "PRIV-1999-0001"})
    assert bad.status_code == 400 and "No ticket with this reference" in bad.content.decode()
    gone = client.post(f"/en/desk/tickets/{duplicate.reference}/related/", {"remove": stays.reference})
    assert gone.status_code == 302 and not stays.related.exists()


# --- The merged requester's status link --------------------------------------------------------------------
def test_status_link_of_a_merged_request_leads_to_the_one_that_stays(two: tuple[Ticket, Ticket],
                                                                    manager: User) -> None:
    stays, duplicate = two
    old_link = f"/en/request/{tokens.status_token(duplicate)}/"
    Ticket.objects.filter(pk=duplicate.pk).update(due_at=stays.due_at - timedelta(days=2))
    duplicate.refresh_from_db()
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    response = Client().get(old_link)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/en/request/{tokens.status_token(stays)}/")
    page = text_of(Client().get(response["Location"]).content.decode())
    assert f"Your request {duplicate.reference} was about the same matter" in page
    assert "양식으로 보낸 같은 요청입니다." in page and "메일로 보낸 요청입니다." in page
    korean_url = response["Location"].replace("/en/", "/", 1)
    korean_response = Client().get(korean_url)
    korean = text_of(korean_response.content.decode())
    assert duplicate.reference in korean and "병합" in korean, korean_url


def test_status_link_across_requesters_shows_progress_not_the_other_request(
        two: tuple[Ticket, Ticket], manager: User, make_ticket: Callable[..., Ticket]) -> None:
    _stays, duplicate = two
    other = make_ticket(email="someone.else@example.com", subject="타인의 비밀 제목", body="타인의 민감한 내용입니다.")
    services.add_participant(ticket=other, actor=manager, email="lawyer@example.com", name="변호사 김")
    services.merge_ticket(duplicate=duplicate, into=other, actor=manager, confirm_other_requester=True)
    response = Client().get(f"/en/request/{tokens.status_token(duplicate)}/")
    assert response.status_code == 200
    page = text_of(response.content.decode())
    assert "merged into it" in page and other.reference in page
    assert "양식으로 보낸 같은 요청입니다." in page  # their own message, which moved
    for secret in ("타인의 비밀 제목", "타인의 민감한 내용입니다.", "someone.else@example.com", "변호사 김",
                   "lawyer@example.com", tokens.status_token(other)):
        assert secret not in response.content.decode()
    # The other requester's page does not show this requester's message either.
    theirs = Client().get(f"/en/request/{tokens.status_token(other)}/").content.decode()
    assert "타인의 민감한 내용입니다." in theirs and "양식으로 보낸 같은 요청입니다." not in theirs
    assert Message.objects.filter(ticket=other, merged_from=duplicate).exists()
