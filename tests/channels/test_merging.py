"""Issue 26, point 5: merging a duplicate into the ticket that stays, and linking related tickets (service).

What moves (messages, files, participants), what is recorded on both audit trails (both chains still
verify), the earlier deadline, every refusal with its field error and nothing moved, and two
merges of the same pair at once on PostgreSQL (row locks in a consistent order: no deadlock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation

from helpdesk import services
from helpdesk.models import Attachment, AuditEvent, Channel, Message, Participant, Ticket, User
from helpdesk.trust.audit_verify import verify_ticket_chain
from workflows.states import TicketState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The errors' English wording (the Korean is checked by the catalog tests)."""
    with translation.override("en"):
        yield


@pytest.fixture
def pair(make_ticket: Callable[..., Ticket], django_capture_on_commit_callbacks: Any) -> tuple[Ticket, Ticket]:
    """The ticket that stays (mail), and the same person's duplicate from the form with a scanned file."""
    stays = make_ticket(email="hong@example.com", subject="열람 요청", channel=Channel.EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        duplicate = services.create_ticket(
            message=services.InboundMessage(
                sender_email="hong@example.com", subject="열람 요청 (양식)", body_text="같은 요청입니다.",
                attachments=[services.NewAttachment("신분증.pdf", "application/pdf", b"%PDF-1.4 scan")]),
            channel=Channel.WEB, request_type="access")
    return stays, duplicate


def test_merge_moves_messages_files_participants_and_records_it_on_both(
        pair: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = pair
    services.add_participant(ticket=duplicate, actor=manager, email="mom@example.com", role="guardian")
    services.add_participant(ticket=duplicate, actor=manager, email="counsel@example.com", role="counsel")
    services.add_participant(ticket=stays, actor=manager, email="counsel@example.com", role="counsel")
    duplicate_messages = set(Message.objects.filter(ticket=duplicate).values_list("pk", flat=True))
    assert duplicate_messages
    result = services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)

    assert result.pk == stays.pk
    assert duplicate.state == TicketState.MERGED and duplicate.merged_into_id == stays.pk
    assert duplicate.closed_at is not None and not duplicate.is_open
    moved = Message.objects.filter(pk__in=duplicate_messages)
    assert {m.ticket_id for m in moved} == {stays.pk} and {m.merged_from_id for m in moved} == {duplicate.pk}
    scan = Attachment.objects.get(filename="신분증.pdf")
    assert scan.message.ticket_id == stays.pk and scan.file.read() == b"%PDF-1.4 scan"
    assert not Message.objects.filter(ticket=duplicate).exists()
    active = set(Participant.objects.filter(ticket=stays, removed_at__isnull=True).values_list("email", flat=True))
    assert active == {"mom@example.com", "counsel@example.com"}
    # The duplicate's second counsel row is kept (removed), so who received what stays on record.
    assert Participant.objects.filter(ticket=stays, email="counsel@example.com").count() == 2
    assert not Participant.objects.filter(ticket=duplicate).exists()

    merge = AuditEvent.objects.get(ticket=duplicate, action="transition.merge")
    assert (merge.from_state, merge.to_state, merge.actor_id) == ("received", "merged", manager.pk)
    assert merge.data["into"] == stays.reference and merge.data["messages"] == len(duplicate_messages)
    merged_in = AuditEvent.objects.get(ticket=stays, action="ticket.merged_in")
    assert merged_in.data["duplicate"] == duplicate.reference and merged_in.data["participants"] == 1
    # Old rows were not rewritten: both hash chains still verify.
    for ticket in (stays, duplicate):
        assert verify_ticket_chain(ticket)[1] == []
    assert AuditEvent.objects.filter(ticket=duplicate, action="ticket.created").exists()


def test_the_ticket_that_stays_takes_the_earlier_deadline(pair: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = pair
    earlier = stays.due_at - timedelta(days=3)
    Ticket.objects.filter(pk=duplicate.pk).update(due_at=earlier)
    duplicate.refresh_from_db()
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    assert stays.due_at == earlier
    moved = AuditEvent.objects.get(ticket=stays, action="sla.deadline_from_merge")
    assert moved.data["from"] == duplicate.reference and moved.data["changed"] is True


def test_a_later_deadline_of_the_duplicate_changes_nothing(pair: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = pair
    Ticket.objects.filter(pk=duplicate.pk).update(due_at=stays.due_at + timedelta(days=5))
    before = stays.due_at
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    assert stays.due_at == before
    assert not AuditEvent.objects.filter(ticket=stays, action="sla.deadline_from_merge").exists()


def _unchanged(stays: Ticket, duplicate: Ticket, messages: int) -> None:
    duplicate.refresh_from_db()
    assert duplicate.state == TicketState.RECEIVED and duplicate.merged_into_id is None
    assert Message.objects.filter(ticket=duplicate).count() == messages
    assert not AuditEvent.objects.filter(action__in=["transition.merge", "ticket.merged_in"]).exists()


def test_refusals_say_which_field_and_move_nothing(pair: tuple[Ticket, Ticket], manager: User,
                                                  make_ticket: Callable[..., Ticket]) -> None:
    stays, duplicate = pair
    messages = Message.objects.filter(ticket=duplicate).count()
    with pytest.raises(services.GuardError) as caught:
        services.merge_ticket(duplicate=duplicate, into=duplicate, actor=manager)
    assert "itself" in caught.value.errors["into"]
    closed = make_ticket(email="hong@example.com")
    services.transition_ticket(ticket=closed, name="withdraw", actor=manager)
    with pytest.raises(services.GuardError) as caught:
        services.merge_ticket(duplicate=duplicate, into=closed, actor=manager)
    assert "closed" in caught.value.errors["into"]
    stranger = make_ticket(email="someone.else@example.com")
    with pytest.raises(services.GuardError) as caught:
        services.merge_ticket(duplicate=duplicate, into=stranger, actor=manager)
    assert set(caught.value.errors) == {"confirm_other_requester"}
    with pytest.raises(services.ConflictError):
        services.merge_ticket(duplicate=duplicate, into=stays, actor=manager, expected_version=duplicate.version - 1)
    with pytest.raises(services.TransitionNotAllowedError):  # not through the generic transition
        services.transition_ticket(ticket=duplicate, name="merge", actor=manager)
    _unchanged(stays, duplicate, messages)


def test_into_a_merged_ticket_names_where_it_went(pair: tuple[Ticket, Ticket], manager: User,
                                                 make_ticket: Callable[..., Ticket]) -> None:
    stays, duplicate = pair
    third = make_ticket(email="hong@example.com")
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    with pytest.raises(services.GuardError) as caught:
        services.merge_ticket(duplicate=third, into=duplicate, actor=manager)
    assert stays.reference in caught.value.errors["into"]
    with pytest.raises(services.TransitionNotAllowedError):  # merged already
        services.merge_ticket(duplicate=duplicate, into=third, actor=manager)
    # The ticket that stays may itself be merged later: what was merged into it follows.
    services.merge_ticket(duplicate=stays, into=third, actor=manager)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == third.pk
    assert Message.objects.filter(merged_from=duplicate, ticket=third).exists()


def test_across_requesters_only_with_confirmation(pair: tuple[Ticket, Ticket], manager: User,
                                                 make_ticket: Callable[..., Ticket]) -> None:
    _stays, duplicate = pair
    other = make_ticket(email="representative@example.com")
    services.merge_ticket(duplicate=duplicate, into=other, actor=manager, confirm_other_requester=True)
    assert duplicate.merged_into_id == other.pk
    event = AuditEvent.objects.get(ticket=other, action="ticket.merged_in")
    assert event.data["other_requester"] is True


def test_only_staff_who_may_act_on_both(pair: tuple[Ticket, Ticket], admin_user: User, other_admin: User,
                                       manager: User) -> None:
    stays, duplicate = pair
    services.assign_ticket(ticket=duplicate, assignee=admin_user, actor=manager)
    services.assign_ticket(ticket=stays, assignee=other_admin, actor=manager)
    with pytest.raises(services.PermissionDeniedError):
        services.merge_ticket(duplicate=duplicate, into=stays, actor=admin_user)
    duplicate.refresh_from_db()
    assert duplicate.state == TicketState.RECEIVED


def test_links_are_symmetric_and_audited(pair: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = pair
    services.link_tickets(ticket=stays, other=duplicate, actor=manager)
    assert list(duplicate.related.all()) == [stays] and list(stays.related.all()) == [duplicate]
    with pytest.raises(services.GuardError) as caught:
        services.link_tickets(ticket=duplicate, other=stays, actor=manager)
    assert "already" in caught.value.errors["other"]
    with pytest.raises(services.GuardError):
        services.link_tickets(ticket=stays, other=stays, actor=manager)
    services.unlink_tickets(ticket=duplicate, other=stays, actor=manager)
    assert not stays.related.exists()
    for ticket, other in ((stays, duplicate), (duplicate, stays)):
        actions = list(AuditEvent.objects.filter(ticket=ticket, action__startswith="ticket.")
                       .exclude(action="ticket.created").values_list("action", "data__other"))
        assert actions == [("ticket.linked", other.reference), ("ticket.unlinked", other.reference)]


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_the_same_pair_at_once_one_wins(make_ticket: Callable[..., Ticket], manager: User) -> None:
    """A → B and B → A together: both lock in the same order, so one waits and then is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between two connections need PostgreSQL")
    first = make_ticket(email="hong@example.com")
    second = make_ticket(email="hong@example.com")
    total = Message.objects.filter(ticket__in=[first, second]).count()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def merge(duplicate: Ticket, into: Ticket) -> None:
        try:
            barrier.wait(10)
            services.merge_ticket(duplicate=Ticket.objects.get(pk=duplicate.pk),
                                  into=Ticket.objects.get(pk=into.pk), actor=manager)
            outcomes.append("merged")
        except services.ServiceError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=merge, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["GuardError", "merged"] or sorted(outcomes) == ["TransitionNotAllowedError",
                                                                               "merged"]
    states = sorted(Ticket.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True))
    assert states == ["merged", "received"]
    survivor = Ticket.objects.get(pk__in=[first.pk, second.pk], state="received")
    assert Message.objects.filter(ticket=survivor).count() == total
    for ticket in (first, second):
        assert verify_ticket_chain(ticket)[1] == []


def _mail(sender: str, reference: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: micube@micube.co.kr\r\nSubject: Re: [{reference}] 추가 자료\r\n"
            f"Message-ID: <{message_id}>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0900\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n추가로 보냅니다.\r\n").encode()


@pytest.mark.parametrize("batch", [False, True])
def test_mail_naming_the_merged_reference_goes_to_the_ticket_that_stays(
        pair: tuple[Ticket, Ticket], manager: User, make_ticket: Callable[..., Ticket], batch: bool,
        django_capture_on_commit_callbacks: Any) -> None:
    from helpdesk.intake.batch import ingest_messages
    from helpdesk.intake.ingest import ingest_message

    stays, duplicate = pair
    other = make_ticket(email="rep@example.com")
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    services.merge_ticket(duplicate=other, into=stays, actor=manager, confirm_other_requester=True)
    mails = [_mail("hong@example.com", duplicate.reference, f"a-{batch}@example.com"),
             _mail("rep@example.com", other.reference, f"b-{batch}@example.com")]
    with django_capture_on_commit_callbacks(execute=True):
        if batch:
            list(ingest_messages([(raw, str(n)) for n, raw in enumerate(mails)]))
        else:
            for raw in mails:
                ingest_message(raw)
    filed = {m.sender: m.ticket for m in Message.objects.filter(
        message_id__in=[f"a-{batch}@example.com", f"b-{batch}@example.com"]).select_related("ticket")}
    # The same requester's mail goes to the ticket that stays; the other requester's (merged across
    # requesters) never lands on a ticket that is not theirs: it opens its own.
    assert filed["hong@example.com"].pk == stays.pk
    assert filed["rep@example.com"].pk not in (stays.pk, other.pk)
    assert filed["rep@example.com"].requester.email == "rep@example.com"
    assert Ticket.objects.count() == 4


def test_a_merge_across_requesters_moves_no_one_onto_the_other_requesters_answers(
        pair: tuple[Ticket, Ticket], manager: User, make_ticket: Callable[..., Ticket]) -> None:
    stays, _duplicate = pair
    other = make_ticket(email="rep@example.com")
    services.add_participant(ticket=other, actor=manager, email="counsel@example.com", role="counsel")
    services.merge_ticket(duplicate=other, into=stays, actor=manager, confirm_other_requester=True)
    moved = Participant.objects.get(email="counsel@example.com")
    assert moved.ticket_id == stays.pk and moved.removed_at is not None  # kept on record, not Cc'd
    assert not Participant.objects.filter(ticket=stays, removed_at__isnull=True).exists()


def test_a_duplicate_with_an_open_task_is_not_merged(pair: tuple[Ticket, Ticket], manager: User) -> None:
    from helpdesk.models import Contact, ContactKind, Task

    stays, duplicate = pair
    owner = Contact.objects.create(name="CRM team", kind=ContactKind.INTERNAL, email="owner@example.com")
    Task.objects.create(ticket=duplicate, number=1, contact=owner, contact_email=owner.email,
                        instructions="delete", due_at=duplicate.due_at)
    with pytest.raises(services.GuardError) as refused:
        services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    assert "open tasks (T1)" in str(refused.value.errors["into"])
    assert Message.objects.filter(ticket=duplicate).exists()  # nothing moved


def test_a_reclassification_keeps_the_earlier_deadline_of_a_merged_duplicate(
        pair: tuple[Ticket, Ticket], manager: User) -> None:
    stays, duplicate = pair
    earlier = stays.due_at - timedelta(days=4)
    Ticket.objects.filter(pk=duplicate.pk).update(due_at=earlier)
    duplicate.refresh_from_db()
    services.merge_ticket(duplicate=duplicate, into=stays, actor=manager)
    services.reclassify(ticket=stays, request_type="correction", actor=manager)
    stays.refresh_from_db()
    assert stays.due_at == earlier
