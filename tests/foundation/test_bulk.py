"""services.insert_rows: the same rows as bulk_create, with their ids, in any number of statements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Direction, Message, Requester, Ticket
from helpdesk.services.bulk import insert_rows


def _messages(ticket: Ticket, tag: str, count: int) -> list[Message]:
    return [Message(ticket=ticket, direction=Direction.INBOUND, sender=f"s{n}@example.com", sender_name="홍길동",
                    recipients=["privacy@example.com", f"x{n}@example.com"], subject=f"{tag} {n}",
                    body_text="본문\r\n둘째 줄" if n == 3 else "본문", message_id=f"{tag}-{n}@example.com",
                    dedupe_key=None if n % 2 else f"mid:{tag}-{n}",
                    sent_at=datetime(2026, 12, 3, 9, n % 60, tzinfo=UTC)) for n in range(count)]


@pytest.mark.django_db
def test_insert_rows_stores_what_bulk_create_stores(make_ticket: Any) -> None:
    ticket = make_ticket()
    count = 250  # more than one statement on SQLite (999 parameters)
    ours, django = _messages(ticket, "ours", count), _messages(ticket, "django", count)
    insert_rows(ours)
    Message.objects.bulk_create(django)

    assert all(m.pk and not m._state.adding and m._state.db == "default" for m in ours)
    assert [m.pk for m in ours] == sorted(m.pk for m in ours)  # ids in the order of the rows
    for mine, theirs in zip(ours, django, strict=True):
        a = Message.objects.filter(pk=mine.pk).values().get()
        b = Message.objects.filter(pk=theirs.pk).values().get()
        for key in ("id", "created_at"):
            a.pop(key), b.pop(key)
        assert a == {**b, "subject": b["subject"].replace("django", "ours"),
                     "message_id": b["message_id"].replace("django", "ours"),
                     "dedupe_key": b["dedupe_key"] and b["dedupe_key"].replace("django", "ours")}
        assert Message.objects.get(pk=mine.pk).subject == mine.subject


@pytest.mark.django_db
def test_text_that_is_not_a_str_is_prepared_by_its_field_as_bulk_create_would(make_ticket: Any) -> None:
    from django.utils.translation import gettext_lazy

    ticket = make_ticket()
    ours, django = _messages(ticket, "ours", 3), _messages(ticket, "django", 3)
    for messages in (ours, django):
        messages[0].subject = gettext_lazy("Request received")  # a lazy string: its text is stored
        messages[1].subject = 12345  # type: ignore[assignment]  # CharField.to_python: str(value)
        messages[2].sender_name = None  # type: ignore[assignment]  # None stays None (NOT NULL refuses it)
    insert_rows(ours[:2])
    Message.objects.bulk_create(django[:2])
    expected = [str(gettext_lazy("Request received")), "12345"]
    assert [m.subject for m in Message.objects.filter(pk__in=[m.pk for m in ours])] == expected
    assert [m.subject for m in Message.objects.filter(pk__in=[m.pk for m in django])] == expected
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ours[2:])


@pytest.mark.django_db
def test_an_aware_datetime_is_stored_as_its_field_would_store_it(make_ticket: Any) -> None:
    from zoneinfo import ZoneInfo

    from helpdesk.services.bulk import _stored_datetime

    field = Message._meta.get_field("sent_at")
    times = [datetime(2026, 12, 3, 9, 5, tzinfo=UTC),
             datetime(2026, 12, 3, 18, 5, 7, 123456, tzinfo=ZoneInfo("Asia/Seoul")),
             datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")),
             datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC)]
    stored = _stored_datetime(connection)
    assert stored is not None  # SQLite and PostgreSQL both have the direct way
    assert [stored(t) for t in times] == [field.get_db_prep_save(t, connection=connection) for t in times]

    ticket = make_ticket()
    ours, django = _messages(ticket, "ours", 4), _messages(ticket, "django", 4)
    for messages in (ours, django):
        for message, when in zip(messages, times, strict=True):
            message.sent_at = when
    insert_rows(ours)
    Message.objects.bulk_create(django)
    assert [m.sent_at for m in Message.objects.filter(pk__in=[m.pk for m in ours])] == sorted(times)
    assert [m.sent_at for m in Message.objects.filter(pk__in=[m.pk for m in django])] == sorted(times)


@pytest.mark.django_db
def test_insert_rows_copies_the_rows_on_postgresql(make_ticket: Any) -> None:
    ticket = make_ticket()
    insert_rows(_messages(ticket, "warm", 2))  # the table's sequence is looked up once per process
    rows = _messages(ticket, "many", 250)
    rows[7].body_text = "탭\t역슬래시 \\N 줄\n바꿈\r\n\x01 끝"  # what COPY's text format must escape
    rows[8].recipients = [{"tricky": "\t\\\n"}]  # type: ignore[list-item]  # JSON through COPY
    with CaptureQueriesContext(connection) as queries:
        insert_rows(rows)
    if connection.vendor == "postgresql":  # the ids in one statement, then COPY (which Django does not log)
        assert len(queries) == 1 and "nextval(" in queries[0]["sql"]
    else:  # SQLite: 999 parameters per statement
        assert len(queries) > 1 and all("VALUES" in q["sql"] for q in queries)
    stored = list(Message.objects.filter(subject__startswith="many ").order_by("pk").values_list(
        "pk", "subject", "body_text", "recipients", "sent_at", "dedupe_key"))
    assert stored == [(m.pk, m.subject, m.body_text, m.recipients, m.sent_at, m.dedupe_key) for m in rows]
    # Django's own insert takes the next ids: the sequence moved past the drawn ones.
    after = Message.objects.create(ticket=ticket, direction=Direction.INBOUND, sender="a@example.com",
                                   sent_at=rows[0].sent_at)
    assert after.pk > rows[-1].pk


@pytest.mark.django_db(transaction=True)
def test_a_copy_that_breaks_a_constraint_raises_django_s_integrity_error(make_ticket: Any) -> None:
    ticket = make_ticket()
    rows = _messages(ticket, "dup", 4)
    rows[2].dedupe_key = rows[0].dedupe_key  # unique
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(rows)
    assert not Message.objects.filter(subject__startswith="dup ").exists()


@pytest.mark.django_db
def test_insert_rows_takes_the_id_of_a_parent_saved_after_the_child_was_built(make_ticket: Any) -> None:
    ticket = make_ticket()
    fresh = Ticket.objects.get(pk=ticket.pk)
    fresh.pk = None
    fresh.reference = "PRIV-2026-9999"
    message = _messages(fresh, "late", 1)[0]  # built while its ticket had no id
    insert_rows([fresh])
    insert_rows([message])
    assert Message.objects.get(pk=message.pk).ticket_id == fresh.pk


@pytest.mark.django_db
def test_insert_rows_of_nothing_does_nothing(django_assert_num_queries: Any) -> None:
    """Not only that it does not raise: no statement runs and no row appears."""
    before = Message.objects.count()
    with django_assert_num_queries(0):
        insert_rows([])
    assert Message.objects.count() == before


def test_insert_rows_refuses_a_row_that_has_an_id() -> None:
    with pytest.raises(ValueError, match="already has an id"):
        insert_rows([Message(pk=7)])


@pytest.mark.django_db
def test_insert_rows_ignoring_conflicts_adds_only_the_new_rows_as_bulk_create_would() -> None:
    Requester.objects.create(email="stored@example.com", name="Stored First")
    rows = [Requester(email=f"new{n}@example.com", name=f"새 요청자 {n}", language="ko") for n in range(400)]
    rows.insert(7, Requester(email="stored@example.com", name="Someone Else"))
    with CaptureQueriesContext(connection) as queries:
        insert_rows(rows, ignore_conflicts=True)
    assert all("RETURNING" not in q["sql"] for q in queries)
    if connection.vendor == "postgresql":
        assert len(queries) == 1 and "ON CONFLICT DO NOTHING" in queries[0]["sql"]
    else:  # more than one statement: 999 parameters each
        assert len(queries) > 1 and all(q["sql"].startswith("INSERT OR IGNORE") for q in queries)
    assert all(r.pk is None for r in rows)  # like bulk_create(ignore_conflicts=True): no ids back
    assert Requester.objects.get(email="stored@example.com").name == "Stored First"  # kept, not overwritten
    stored = dict(Requester.objects.filter(email__startswith="new").values_list("email", "name"))
    assert stored == {f"new{n}@example.com": f"새 요청자 {n}" for n in range(400)}
    assert Requester.objects.filter(email="new3@example.com").get().created_at is not None


@pytest.mark.django_db
def test_every_value_passed_on_directly_is_what_its_field_would_prepare(make_ticket: Any) -> None:
    from helpdesk.models import AuditEvent
    from helpdesk.services.bulk import _insert_fields, _plain_kinds, _plain_numbers

    ticket = make_ticket()
    rows = [ticket, ticket.requester, *ticket.messages.all(), *AuditEvent.objects.filter(ticket=ticket)]
    plain = _plain_numbers(connection)
    checked = set()
    for obj in rows:
        model = type(obj)
        for field, kind in zip(_insert_fields(model), _plain_kinds(model), strict=True):
            if kind != "text" and kind not in plain:  # text always; numbers where the backend allows
                continue
            value = getattr(obj, field.attname)
            if value.__class__ in (str, int, bool):
                assert field.get_db_prep_save(value, connection=connection) == value, (model, field)
                assert type(field.get_db_prep_save(value, connection=connection)) is type(value), (model, field)
                checked.add(kind)
    assert {"text", "boolean", "key"} <= checked  # and "integer" where the backend keeps ints as they are
    assert ("integer" in checked) == ("integer" in plain)
