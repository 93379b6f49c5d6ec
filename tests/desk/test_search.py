"""The desk's search (``helpdesk.selectors.search_filter``): its two forms find the same tickets.

A search that matches few rows filters by the matching ticket ids (found by one bounded query);
one that matches many stays a condition per ticket. Which form is used must never change what
is found, on either database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk import selectors
from helpdesk.models import Message, MessageKind, Ticket
from helpdesk.selectors import search_filter

pytestmark = pytest.mark.django_db

SEARCHES = ["열람", "naver", "PARK@", "삭제", "탈퇴 신청", "@", "@@", "nobody-here", "박문원", "문원"]


@pytest.fixture
def tickets(make_ticket: Any, add_messages: Any) -> dict[str, Ticket]:
    many = make_ticket(subject="개인정보 열람 요청", email="kim@example.com")
    add_messages(many, 3)  # four messages of one ticket say "열람"
    return {
        "many": many,
        "one": make_ticket(subject="문의", body="제 정보 열람을 원합니다", email="lee@example.com"),
        "naver": make_ticket(subject="삭제 요청", body="회원 탈퇴 신청합니다", email="park@naver.com",
                             request_type="deletion"),
        "name": make_ticket(subject="Question", body="hello", email="x@example.org", requester_name="박문원"),
    }


def _found(text: str) -> set[str]:
    return set(Ticket.objects.filter(search_filter(text)).values_list("reference", flat=True))


@pytest.mark.parametrize("text", SEARCHES)
def test_ids_and_condition_find_the_same_tickets(tickets: dict[str, Ticket], monkeypatch: Any, text: str) -> None:
    by_ids = _found(text)
    monkeypatch.setattr(selectors, "SEARCH_FEW", -1)  # every search, even one that finds nothing: the condition
    assert _found(text) == by_ids


def test_what_each_search_finds(tickets: dict[str, Ticket]) -> None:
    refs = {name: t.reference for name, t in tickets.items()}
    assert _found("열람") == {refs["many"], refs["one"]}
    assert _found("naver") == _found("PARK@") == {refs["naver"]}
    assert _found(refs["one"].lower()) == {refs["one"]}
    assert _found("박문원") == _found("문원") == {refs["name"]}
    assert _found("@") == set(refs.values())  # no word in it: the addresses and subjects (PostgreSQL too)
    assert _found("nobody-here") == _found("@@") == set()
    # The desk's own acknowledgements say "접수" (received): they are not searched.
    assert Message.objects.filter(kind=MessageKind.ACKNOWLEDGEMENT, body_text__contains="접수되었습니다").exists()
    assert _found("접수") == set()


def test_a_ticket_with_many_matching_messages_does_not_hide_the_others(
        tickets: dict[str, Ticket], monkeypatch: Any) -> None:
    # The bounded query may return one ticket's id once per matching message: four rows of the
    # same ticket fill a bound of 3, so it is cut and the search must not take it as complete.
    monkeypatch.setattr(selectors, "SEARCH_FEW", 3)
    assert _found("열람") == {tickets["many"].reference, tickets["one"].reference}


def test_the_search_runs_one_bounded_query(tickets: dict[str, Ticket]) -> None:
    with CaptureQueriesContext(connection) as queries:
        condition = search_filter("naver")
    assert len(queries) == 1 and "UNION ALL" in queries[0]["sql"] and "LIMIT 501" in queries[0]["sql"]
    assert Ticket.objects.filter(condition).get() == tickets["naver"]


def test_an_empty_search_is_no_filter_and_no_query(tickets: dict[str, Ticket]) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert Ticket.objects.filter(search_filter("   ")).count() == 4
    assert len(queries) == 1  # the count only


@pytest.mark.postgres
@pytest.mark.parametrize(("column", "text"), [("email", "naver"), ("name", "박문원")])
def test_requesters_are_found_through_the_trigram_indexes(tickets: dict[str, Ticket], column: str, text: str
                                                          ) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigram indexes")
    from helpdesk.models import Requester

    sql, params = Requester.objects.filter(**{f"{column}__icontains": text}).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny; ask whether it can be used
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Bitmap Index Scan on requester_{column}_trgm" in plan, plan
