"""Issue 12.5: every API error is in the language of ``Accept-Language`` (English or Korean).

The API has no throttling of its own (sign-in throttling is the desk's, rate limits are the public
forms'), so the error kinds are 400 (fields, guards, unreadable body), 401, 403, 404, 405, 409 and 415.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from helpdesk import services
from helpdesk.models import Ticket, User
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _texts(error: dict[str, Any]) -> Iterator[str]:
    yield error["message"]

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for inner in value.values():
                yield from walk(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from walk(inner)
        else:
            yield str(value)

    yield from walk(error["fields"])


def _errors(language: str, ticket: Ticket, admin: User, intruder: User, stale_version: int,
            ) -> list[tuple[str, int, dict[str, Any]]]:
    header = {"HTTP_ACCEPT_LANGUAGE": language}
    client = token_client(admin)
    url = f"/api/v1/tickets/{ticket.reference}"
    anonymous = token_client(None)
    bad_token = token_client(None)
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    calls = {
        "404 ticket": client.get("/api/v1/tickets/PRIV-1999-0001/", **header),
        "404 url": client.get("/api/v1/no-such-endpoint/", **header),
        "403 object": token_client(intruder).post(f"{url}/transitions/verify/",
                                                  {"verification_method": "email_link"}, format="json", **header),
        "403 export": client.get("/api/v1/exports/tickets/?include_emails=1", **header),
        "403 manager only": client.get("/api/v1/exports/figures/", **header),
        "409 stale": client.post(f"{url}/transitions/verify/", {"verification_method": "id_document",
                                                                "expected_version": stale_version},
                                 format="json", **header),
        "409 state": client.post(f"{url}/transitions/respond/", {}, format="json", **header),
        "409 unknown": client.post(f"{url}/transitions/teleport/", {}, format="json", **header),
        "400 fields": client.post("/api/v1/tickets/", {"subject": "a\r\nb"}, format="json", **header),
        "400 guard": client.post(f"{url}/transitions/verify/", {}, format="json", **header),
        "400 choice": client.post(f"{url}/transitions/verify/", {"verification_method": "psychic"},
                                  format="json", **header),
        "400 filter": client.get("/api/v1/tickets/?state=nonsense", **header),
        "400 body": client.post("/api/v1/tickets/", "{broken", content_type="application/json", **header),
        "401 token": bad_token.get("/api/v1/tickets/", **header),
        "401 none": anonymous.get("/api/v1/tickets/", **header),
        "405": client.delete(f"{url}/", **header),
        "415": client.post("/api/v1/tickets/", "<x/>", content_type="text/xml", **header),
    }
    results = []
    for kind, response in calls.items():
        assert response["Content-Type"].startswith("application/json"), (kind, response.content[:200])
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, (kind, body)
        results.append((kind, response.status_code, body["error"]))
    return results


@pytest.fixture
def scene(make_ticket: Any, admin_user: User, make_admin: Any) -> tuple[Ticket, User, User, int]:
    ticket = make_ticket()
    stale = ticket.version
    services.add_note(ticket=ticket, author=admin_user, body_text="someone else's change")
    return ticket, admin_user, make_admin("someone.else"), stale


EXPECTED_STATUS = {"404 ticket": 404, "404 url": 404, "403 object": 403, "403 export": 403, "403 manager only": 403,
                   "409 stale": 409, "409 state": 409, "409 unknown": 409, "400 fields": 400, "400 guard": 400,
                   "400 choice": 400, "400 filter": 400, "400 body": 400, "401 token": 401, "401 none": 401,
                   "405": 405, "415": 415}


def test_english(scene: tuple[Ticket, User, User, int]) -> None:
    results = _errors("en", *scene)
    assert {kind: status for kind, status, _e in results} == EXPECTED_STATUS
    for kind, _status, error in results:
        korean = [text for text in _texts(error) if HANGUL.search(text)]
        assert not korean, (kind, korean)
    messages = {kind: error["message"] for kind, _s, error in results}
    assert messages["403 object"] == "This ticket is assigned to someone else."
    assert messages["403 export"] == "Only managers can export requesters' e-mail addresses."
    assert messages["400 body"] == "The request body could not be read: send valid JSON or form data."
    assert messages["404 url"] == "Not found."


def test_korean(scene: tuple[Ticket, User, User, int]) -> None:
    results = _errors("ko", *scene)
    assert {kind: status for kind, status, _e in results} == EXPECTED_STATUS
    for kind, _status, error in results:
        for text in _texts(error):
            assert HANGUL.search(text), (kind, text)


def test_the_header_wins_over_a_korean_language_cookie(client: Client, admin_user: User) -> None:
    """The reported case: a browser that used the Korean desk, then calls the API asking for English."""
    client.force_login(admin_user)
    client.cookies["django_language"] = "ko"
    body = client.get("/api/v1/tickets/PRIV-1999-0001/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").json()
    assert body["error"]["message"] == "Not found."
    assert client.get("/api/v1/tickets/PRIV-1999-0001/").json()["error"]["message"] == "찾을 수 없습니다."  # cookie


def test_korean_is_the_default_and_unknown_languages_fall_back(admin_user: User) -> None:
    client = token_client(admin_user)
    assert HANGUL.search(client.get("/api/v1/tickets/PRIV-1999-0001/").json()["error"]["message"])
    assert HANGUL.search(client.get("/api/v1/tickets/PRIV-1999-0001/",
                                    HTTP_ACCEPT_LANGUAGE="fr").json()["error"]["message"])
    assert client.get("/api/v1/tickets/PRIV-1999-0001/",
                      HTTP_ACCEPT_LANGUAGE="fr, en;q=0.5").json()["error"]["message"] == "Not found."
