"""The bulk path of ``ingest_email`` files exactly what ``ingest_message`` files, for a fraction of the SQL.

Runs on SQLite and (in the second pass of ``make test``) on PostgreSQL.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import time
from email import policy
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk import services
from helpdesk.fulfilment.services import record_manual_fulfilment
from helpdesk.intake import batch
from helpdesk.intake.batch import BATCH_SIZE, ingest_messages
from helpdesk.intake.ingest import IngestResult, Outcome, ingest_message
from helpdesk.models import Attachment, AuditEvent, Direction, Message, Quarantine, Requester, StoredFile, Ticket, User
from helpdesk.trust.audit_verify import verify_audit_trail
from tests.intake_e2e.conftest import CORPUS
from tests.intake_e2e.mailgen import generate

DESK_NOW = "2026-01-08T10:00:00+09:00"
CLOCK_TIMES = {"paused_at", "resumed_at", "paused_seconds"}  # when the test ran, not what was decided


class _Rollback(Exception):
    pass


def _reply(n: int, to_message_id: str, *, auto: bool = False, subject: str = "Re: my request",
           sender: str = "") -> tuple[bytes, str]:
    head = "Auto-Submitted: auto-replied\n" if auto else ""
    sender = sender or f"reply{n}@example.com"
    raw = (f"From: Someone {n} <{sender}>\nTo: micube@micube.co.kr\nSubject: {subject}\n{head}"
           f"Message-ID: <batch-reply-{n}@example.com>\nIn-Reply-To: <{to_message_id}>\n"
           "Date: Thu, 08 Jan 2026 09:00:00 +0900\nContent-Type: text/plain; charset=utf-8\n\n답장입니다.\n").encode()
    return raw, f"reply-{n}"


def _mixed_mail(stored: dict[str, Ticket]) -> list[tuple[bytes, str]]:
    """The fixture corpus, generated mail with replies inside the batch, and replies to stored tickets
    in every state a mail treats differently — some of them twice in one batch."""
    items = [((CORPUS / path.name).read_bytes(), path.name) for path in sorted(CORPUS.glob("*.eml"))]
    items += [(raw, f"gen-{n}") for n, raw in enumerate(generate(150, run="batch-equivalence"))]
    n = 0
    for ticket in stored.values():
        ours = ticket.messages.filter(direction=Direction.OUTBOUND).order_by("id").first()
        assert ours is not None
        for auto in (False, True, False):
            n += 1
            # The requester answers; an autoresponder elsewhere answers too (kept as a note).
            items.append(_reply(n, ours.message_id, auto=auto, sender="" if auto else ticket.requester.email))
    items.append(items[3])  # the same bytes again, late in the batch
    # Threaded only by a [PRIV-…] subject reference to a stored ticket: from its requester, from a
    # stranger, from its requester again, from the sender of an automatic reply kept on it earlier
    # in this batch (a note makes nobody a party), and from the requester of a ticket the mail resumes.
    received, waiting = stored["received"], stored["awaiting_requester"]
    for n, (sender, ticket) in enumerate([(received.requester.email, received), ("stranger@example.com", received),
                                          (received.requester.email, received), ("reply2@example.com", received),
                                          (waiting.requester.email, waiting)]):
        items.append((f"From: {sender}\nTo: micube@micube.co.kr\nSubject: Re: [{ticket.reference}] more\n"
                      f"Message-ID: <subject-ref-{n}@example.com>\nDate: Thu, 08 Jan 2026 09:30:00 +0900\n"
                      "Content-Type: text/plain; charset=utf-8\n\nOne more thing.\n".encode(), f"subject-ref-{n}"))
    # A new sender who gives their name only in their second mail, in the same batch: the first
    # acknowledgement still says "Dear requester", as it would one at a time.
    for n, sender in enumerate(["newcomer@example.com", "김하늘 <newcomer@example.com>"]):
        items.append((f"From: {sender}\nTo: micube@micube.co.kr\nSubject: request {n}\n"
                      f"Message-ID: <newcomer-{n}@example.com>\nDate: Thu, 08 Jan 2026 09:0{n}:00 +0900\n"
                      "Content-Type: text/plain; charset=utf-8\n\nPlease delete my data.\n".encode(), f"newcomer-{n}"))
    return items


def _snapshot(results: list[IngestResult]) -> dict[str, Any]:
    """Everything a person or the audit could see, without database ids, random ids and clock times."""
    dedupe = dict(Message.objects.values_list("pk", "dedupe_key"))

    def data(event: AuditEvent) -> dict[str, Any]:
        values = {k: v for k, v in event.data.items() if k not in CLOCK_TIMES}
        if "message" in values:
            values["message"] = dedupe.get(values["message"])
        return values

    tickets = {}
    for ticket in Ticket.objects.select_related("requester", "assignee"):
        tickets[ticket.reference] = {
            "fields": (ticket.request_type, ticket.suggested_request_type, ticket.subject, ticket.requester.email,
                       ticket.state, ticket.assignee.username if ticket.assignee else None, ticket.version,
                       ticket.channel, ticket.due_at),
            "messages": sorted(
                (m.direction, m.kind, m.sender, m.sender_name, m.subject, m.body_text, m.body_html,
                 m.message_id if m.direction == Direction.INBOUND else "", m.in_reply_to, m.references,
                 m.dedupe_key or "", tuple(m.recipients), m.delivery_status, bool(m.raw_message),
                 tuple(sorted((a.filename, a.size, a.content_type, a.sha256, a.content_id, a.is_inline)
                              for a in m.attachments.all())))
                for m in ticket.messages.prefetch_related("attachments")
            ),
            "audit": [(e.seq, e.action, e.actor_label, e.from_state, e.to_state, data(e))
                      for e in AuditEvent.objects.filter(ticket=ticket).order_by("seq")],
        }
    return {
        "results": [(r.outcome, r.ticket_reference, r.reason) for r in results],
        "tickets": tickets,
        "requesters": sorted(Requester.objects.values_list("email", "name", "language")),
        "quarantine": sorted(Quarantine.objects.values_list("reason", "sender", "subject", "dedupe_key")),
        "audit_problems": [str(problem) for problem in verify_audit_trail()[1]],
    }


@pytest.fixture
def stored_tickets(make_admin: Any, manager: User, make_ticket: Any,
                   django_capture_on_commit_callbacks: Any) -> dict[str, Ticket]:
    """Tickets that exist before the mail arrives: open, waiting for the requester, answered, refused."""
    make_admin("moonwon.park")
    make_admin("hyojoon.shim")
    tickets = {state: make_ticket(email=f"{state}@example.com", channel="email", subject=f"stored {state}")
               for state in ("received", "awaiting_requester", "responded", "rejected")}
    with django_capture_on_commit_callbacks(execute=True):
        for state, ticket in tickets.items():
            if state == "awaiting_requester":
                services.transition_ticket(ticket=ticket, name="request_info", actor=manager, question="ID, please")
            elif state == "responded":
                services.transition_ticket(ticket=ticket, name="verify", actor=manager,
                                           verification_method="id_document")
                record_manual_fulfilment(ticket=ticket, actor=manager, reason="Sent the copy by hand.")
                services.transition_ticket(ticket=ticket, name="process", actor=manager, note="Sent the copy.")
                services.send_reply(ticket=ticket, author=manager, body_text="Done.", and_respond=True)
            elif state == "rejected":
                services.transition_ticket(ticket=ticket, name="reject", actor=manager, reason="no_data_held",
                                           explanation="We hold no data about you.")
    for state, ticket in tickets.items():
        ticket.refresh_from_db()
        assert ticket.state == state
    return tickets


@pytest.mark.django_db
@pytest.mark.slow
def test_batched_intake_files_exactly_what_one_at_a_time_files(stored_tickets: dict[str, Ticket],
                                                               django_capture_on_commit_callbacks: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    items = _mixed_mail(stored_tickets)
    monkeypatch.setattr(batch, "BATCH_SIZE", 100)  # what is filed does not depend on the size
    assert len(items) > 2 * batch.BATCH_SIZE  # several batches, with replies across their borders
    with time_machine.travel(DESK_NOW, tick=True):
        try:
            with transaction.atomic(), django_capture_on_commit_callbacks(execute=False):
                one_at_a_time = _snapshot([ingest_message(raw, source=source) for raw, source in items])
                raise _Rollback
        except _Rollback:
            pass
        with django_capture_on_commit_callbacks(execute=False):
            batched = _snapshot(list(ingest_messages(items)))

    outcomes = {outcome for outcome, _, _ in batched["results"]}
    assert outcomes == set(Outcome)  # every kind of outcome was exercised
    by_source = dict(zip([source for _, source in items], batched["results"], strict=True))
    subject_refs = [by_source[f"subject-ref-{n}"][:2] for n in range(5)]
    received, waiting = stored_tickets["received"].reference, stored_tickets["awaiting_requester"].reference
    assert subject_refs[0] == subject_refs[2] == (Outcome.FOLLOW_UP, received)
    assert subject_refs[1][0] == subject_refs[3][0] == Outcome.NEW_TICKET  # a stranger quoting the reference
    assert subject_refs[4] == (Outcome.FOLLOW_UP, waiting)
    assert batched["audit_problems"] == []
    for reference, ticket in one_at_a_time["tickets"].items():
        assert batched["tickets"].get(reference) == ticket, reference
    assert batched == one_at_a_time


def _db_trigger_rejecting(dedupe_key: str) -> tuple[str, str]:
    """SQL that makes inserting one particular message fail, as a real constraint would."""
    if connection.vendor == "postgresql":
        return (
            f"""CREATE FUNCTION pd_reject_one() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.dedupe_key = '{dedupe_key}' THEN
                  RAISE EXCEPTION 'rejected by the test' USING ERRCODE = '23514'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER pd_reject_one BEFORE INSERT ON helpdesk_message
                FOR EACH ROW EXECUTE FUNCTION pd_reject_one();""",
            "DROP TRIGGER pd_reject_one ON helpdesk_message; DROP FUNCTION pd_reject_one();",
        )
    return (
        f"""CREATE TRIGGER pd_reject_one BEFORE INSERT ON helpdesk_message
            WHEN NEW.dedupe_key = '{dedupe_key}' BEGIN SELECT RAISE(ABORT, 'rejected by the test'); END;""",
        "DROP TRIGGER pd_reject_one;",
    )


def _stored_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.mark.django_db
def test_a_failed_batch_is_filed_one_at_a_time_and_leaves_no_stray_files(
    make_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_admin("moonwon.park")
    items = [(raw, f"gen-{n}") for n, raw in enumerate(generate(40, run="batch-failure"))]
    doomed = next(raw for raw, _ in items[20:] if b"In-Reply-To" not in raw)
    message_id = doomed.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
    create, drop = _db_trigger_rejecting(f"mid:{message_id}")
    with connection.cursor() as cursor:
        cursor.execute(create)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            results = list(ingest_messages(items))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(drop)

    # The batch rolled back; one at a time, every other mail was filed and the doomed one kept.
    failed = [r for r in results if r.outcome == Outcome.QUARANTINED]
    assert [(r.reason) for r in failed] == ["ingest_error"]
    assert Quarantine.objects.get().dedupe_key == "sha256:" + hashlib.sha256(doomed).hexdigest()
    assert len(results) == len(items)
    assert Message.objects.filter(direction=Direction.INBOUND).count() == len(items) - 1
    # Acknowledgements went out after the commit, one per new ticket (the batch's were discarded).
    acks = Message.objects.filter(kind="acknowledgement")
    assert acks.count() == sum(r.outcome == Outcome.NEW_TICKET for r in results)
    assert set(acks.values_list("delivery_status", flat=True)) == {"sent"}
    assert len(mail.outbox) == acks.count()
    # Files written by the rolled-back batch were removed: every stored file belongs to a row.
    # (Attachments and quarantined mail are files; raw mail is StoredFile rows, rolled back with the batch.)
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    raw_mails = {m.raw_message.name for m in Message.objects.exclude(raw_message="")}
    assert len(raw_mails) == len(items) - 1
    assert set(StoredFile.objects.values_list("name", flat=True)) == raw_mails
    assert _stored_files(root) == ({a.file.name for a in Attachment.objects.all()}
                                   | {q.raw_message.name for q in Quarantine.objects.all()})


@pytest.mark.django_db
def test_a_batch_of_100_new_tickets_takes_a_few_dozen_queries_not_thousands(
    make_admin: Any, django_assert_max_num_queries: Any
) -> None:
    make_admin("moonwon.park")
    make_admin("hyojoon.shim")
    mails = [raw for raw in generate(300, run="batch-queries") if b"In-Reply-To" not in raw]
    items = [(raw, str(n)) for n, raw in enumerate(mails[:100])]
    assert len(items) == 100 <= BATCH_SIZE  # one batch
    # One at a time this is ~20 statements per mail. In bulk it is a fixed set of statements,
    # plus one more INSERT per ~50 rows on SQLite (Django keeps each under 999 parameters there).
    # A constant per batch: 31 since the administrators' open tickets are counted after their lock.
    with django_assert_max_num_queries(31):
        assert {r.outcome for r in ingest_messages(items)} == {Outcome.NEW_TICKET}
    assert Ticket.objects.count() == 100
    assert Message.objects.filter(kind="acknowledgement").count() == 100


@pytest.mark.django_db
def test_a_batch_acknowledges_over_one_smtp_connection(make_admin: Any, smtp_sink: Any,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    make_admin("moonwon.park")
    items = [(raw, str(n)) for n, raw in enumerate(generate(30, run="batch-smtp")) if b"In-Reply-To" not in raw]
    with django_capture_on_commit_callbacks(execute=True):
        results = list(ingest_messages(items))
    references = {r.ticket_reference for r in results}
    received = smtp_sink.wait_for(len(items))
    assert {m["X-Privacy-Desk-Ticket"] for m in received} == references
    assert all(m["Auto-Submitted"] == "auto-replied" for m in received)
    assert len(set(smtp_sink.peers)) == 1
    assert set(Message.objects.filter(kind="acknowledgement").values_list("delivery_status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_smtp_down_during_a_batch_leaves_acknowledgements_failed_for_the_retry_sweep(
    make_admin: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_admin("moonwon.park")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    items = [(raw, str(n)) for n, raw in enumerate(generate(10, run="batch-smtp-down")) if b"In-Reply-To" not in raw]
    with django_capture_on_commit_callbacks(execute=True):
        results = list(ingest_messages(items))
    assert {r.outcome for r in results} == {Outcome.NEW_TICKET}  # intake is not held up by mail
    statuses = list(Message.objects.filter(kind="acknowledgement").values_list("delivery_status", flat=True))
    assert statuses == ["failed"] * len(items)


@pytest.mark.django_db
def test_delivering_a_batchs_acknowledgements_reads_them_in_one_query(make_admin: Any, smtp_sink: Any) -> None:
    from notifications.tasks import deliver_messages

    make_admin("moonwon.park")
    items = [(raw, str(n)) for n, raw in enumerate(generate(24, run="batch-one-read")) if b"In-Reply-To" not in raw]
    list(ingest_messages(items))  # the after-commit delivery is not run here: the test transaction never commits
    acks = list(Message.objects.filter(kind="acknowledgement").select_related("ticket").order_by("pk"))
    assert len(acks) == len(items) and {a.delivery_status for a in acks} == {"pending"}
    with CaptureQueriesContext(connection) as queries:
        assert deliver_messages([a.pk for a in acks]) == {"sent": len(acks), "failed": 0, "skipped": 0}
    # The messages, then their attachments (a notice carries its PDF): two reads for the whole batch,
    # nothing read again per message.
    assert len([q for q in queries if q["sql"].startswith("SELECT")]) == 2
    received = {m["Message-ID"]: m for m in smtp_sink.wait_for(len(acks))}
    for ack in acks:  # everything build_email puts in the mail was read
        mail = received[f"<{ack.message_id}>"]
        assert mail["X-Privacy-Desk-Ticket"] == ack.ticket.reference
        assert mail["To"] == ", ".join(ack.recipients)
        assert str(policy.default.header_factory("Subject", mail["Subject"])).strip() == ack.subject
        assert mail["In-Reply-To"] == f"<{ack.in_reply_to}>" and mail["Auto-Submitted"] == "auto-replied"
        assert mail.get_payload(decode=True).decode().replace("\r\n", "\n").strip() == ack.body_text.strip()
    assert set(Message.objects.filter(kind="acknowledgement").values_list("delivery_status", flat=True)) == {"sent"}


def _marks(queries: Any) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and 'SET "delivery_status"' in q["sql"]]


@pytest.mark.django_db(transaction=True)
def test_each_acknowledgement_is_marked_in_its_own_committed_transaction(make_admin: Any, smtp_sink: Any) -> None:
    """Committed for real (no test transaction): a mark per message, each committed right after its
    send and before the next; a refused one is rolled back and stays failed for the retry sweep."""
    make_admin("moonwon.park")
    raws = [raw for raw in generate(14, run="batch-chained") if b"In-Reply-To" not in raw]
    refused = email.utils.parseaddr(email.message_from_bytes(raws[4])["From"])[1].lower()
    smtp_sink.refuse = {refused}
    with CaptureQueriesContext(connection) as queries:
        results = list(ingest_messages([(raw, str(n)) for n, raw in enumerate(raws)]))
    assert {r.outcome for r in results} == {Outcome.NEW_TICKET}
    acks = Message.objects.filter(kind="acknowledgement")
    statuses = list(acks.values_list("delivery_status", flat=True))
    assert len(acks) == len(raws)
    assert sorted(statuses) == ["failed"] + ["sent"] * (len(raws) - 1)
    assert [status for recipients, status in acks.values_list("recipients", "delivery_status")
            if recipients == [refused]] == ["failed"]
    received = smtp_sink.wait_for(len(raws) - 1)
    assert sorted(m["Message-ID"] for m in received) == sorted(
        f"<{m}>" for m in acks.filter(delivery_status="sent").values_list("message_id", flat=True))
    assert len(_marks(queries)) == len(raws) + 1  # a claim per message, and the refused one marked failed


@pytest.mark.django_db(transaction=True)
def test_delivery_interrupted_mid_batch_keeps_what_was_sent_and_leaves_no_transaction_open(
    make_admin: Any, settings: Any
) -> None:
    """Ctrl-C (or a worker's shutdown) while a batch's acknowledgements go out after its commit."""
    from tests.intake_e2e.interrupting_backend import InterruptingBackend

    make_admin("moonwon.park")
    raws = [raw for raw in generate(8, run="batch-interrupted") if b"In-Reply-To" not in raw][:5]
    settings.EMAIL_BACKEND = "tests.intake_e2e.interrupting_backend.InterruptingBackend"
    InterruptingBackend.sent.clear()
    with pytest.raises(KeyboardInterrupt):
        list(ingest_messages([(raw, str(n)) for n, raw in enumerate(raws)]))
    assert connection.get_autocommit() and not connection.in_atomic_block
    if connection.vendor == "postgresql":
        assert connection.connection.info.transaction_status == 0  # idle: the open mark was rolled back
    assert Ticket.objects.count() == len(raws)  # the batch was committed before its mail went out
    acks = Message.objects.filter(kind="acknowledgement").order_by("pk")
    statuses = list(acks.values_list("message_id", "delivery_status"))
    assert [status for _, status in statuses] == ["sent", "sent", "pending", "pending", "pending"]
    assert InterruptingBackend.sent == [f"<{message_id}>" for message_id, _ in statuses[:2]]


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_just_after_a_mark_ran_marks_nothing_unsent(make_admin: Any, smtp_sink: Any) -> None:
    """Interrupted once the server has run the second message's claim, before it was sent: that
    claim is rolled back with its transaction, so the second stays pending."""
    make_admin("moonwon.park")
    raws = [raw for raw in generate(8, run="batch-interrupted-mark") if b"In-Reply-To" not in raw][:3]
    marks: list[str] = []

    def interrupt_after_second_mark(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        outcome = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and 'SET "delivery_status"' in sql:
            marks.append(sql)
            if len(marks) == 2:
                raise KeyboardInterrupt
        return outcome

    with connection.execute_wrapper(interrupt_after_second_mark), pytest.raises(KeyboardInterrupt):
        list(ingest_messages([(raw, str(n)) for n, raw in enumerate(raws)]))
    assert connection.get_autocommit() and not connection.in_atomic_block  # nothing left open
    acks = Message.objects.filter(kind="acknowledgement").order_by("pk")
    assert list(acks.values_list("delivery_status", flat=True)) == ["sent", "pending", "pending"]
    received = smtp_sink.wait_for(1)
    assert [m["Message-ID"] for m in received] == [f"<{acks[0].message_id}>"]


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_the_same_acknowledgements_send_each_once(make_admin: Any, settings: Any,
                                                                   smtp_sink: Any) -> None:
    """The original task and a retry sweep's at the same time: each waits for the other's mark."""
    import threading

    from django.db import connections

    from notifications.tasks import deliver_messages

    if connection.vendor != "postgresql":
        pytest.skip("row locks between two connections")
    make_admin("moonwon.park")
    raws = [raw for raw in generate(40, run="batch-twice") if b"In-Reply-To" not in raw]
    sink_backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "tests.deadlines.failing_backend.FailingBackend"
    list(ingest_messages([(raw, str(n)) for n, raw in enumerate(raws)]))  # committed; every send failed
    acks = Message.objects.filter(kind="acknowledgement")
    assert set(acks.values_list("delivery_status", flat=True)) == {"failed"}
    acks.update(delivery_status="pending")
    settings.EMAIL_BACKEND = sink_backend
    pks = sorted(acks.values_list("pk", flat=True))
    outcomes: list[dict[str, int]] = []

    def deliver() -> None:
        try:
            outcomes.append(deliver_messages(pks))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(o["sent"] for o in outcomes) == len(pks) and sum(o["failed"] for o in outcomes) == 0
    received = smtp_sink.wait_for(len(pks))
    time.sleep(0.5)  # nothing more arrives
    assert sorted(m["Message-ID"] for m in smtp_sink.messages) == sorted(
        f"<{m}>" for m in acks.values_list("message_id", flat=True))
    assert len(received) == len(pks) and set(acks.values_list("delivery_status", flat=True)) == {"sent"}


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _db_trigger_adding_requester_first(email: str) -> tuple[str, str]:
    """SQL that makes another "ingester" add this requester just before the batch inserts it."""
    if connection.vendor == "postgresql":
        return (
            f"""CREATE FUNCTION pd_requester_first() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.email = '{email}' AND pg_trigger_depth() = 1 THEN
                  INSERT INTO helpdesk_requester (email, name, phone, organization, language, created_at)
                  VALUES (NEW.email, '', '', '', 'en', now()) ON CONFLICT DO NOTHING; END IF; RETURN NEW; END $$;
                CREATE TRIGGER pd_requester_first BEFORE INSERT ON helpdesk_requester
                FOR EACH ROW EXECUTE FUNCTION pd_requester_first();""",
            "DROP TRIGGER pd_requester_first ON helpdesk_requester; DROP FUNCTION pd_requester_first();",
        )
    return (
        f"""CREATE TRIGGER pd_requester_first BEFORE INSERT ON helpdesk_requester WHEN NEW.email = '{email}'
            BEGIN INSERT OR IGNORE INTO helpdesk_requester (email, name, phone, organization, language, created_at)
            VALUES (NEW.email, '', '', '', 'en', datetime('now')); END;""",
        "DROP TRIGGER pd_requester_first;",
    )


@pytest.mark.django_db
def test_a_requester_added_meanwhile_by_another_ingester_does_not_roll_the_batch_back(
    make_admin: Any, caplog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_admin("moonwon.park")
    items = [(raw, f"gen-{n}") for n, raw in enumerate(generate(10, run="batch-requester-race"))
             if b"In-Reply-To" not in raw]
    items.append(("From: 김하늘 <first@example.com>\nTo: micube@micube.co.kr\nSubject: 삭제 요청\n"
                  "Message-ID: <first-1@example.com>\nDate: Thu, 08 Jan 2026 09:00:00 +0900\n"
                  "Content-Type: text/plain; charset=utf-8\n\n제 정보를 삭제해 주세요.\n".encode(), "first"))
    create, drop = _db_trigger_adding_requester_first("first@example.com")
    with connection.cursor() as cursor:
        cursor.execute(create)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            results = list(ingest_messages(items))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(drop)

    assert {r.outcome for r in results} == {Outcome.NEW_TICKET}
    assert "rolled back" not in caplog.text  # filed in bulk, not refiled one at a time
    requester = Requester.objects.get(email="first@example.com")
    # The row added first wins (its language); the name it lacked is filled in from the mail.
    assert (requester.name, requester.language) == ("김하늘", "en")
    assert Ticket.objects.get(reference=results[-1].ticket_reference).requester == requester
