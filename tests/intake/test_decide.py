"""``decide`` is pure: the intake rules, checked without a database."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.intake.decide import (
    THREAD_IDS_MAX,
    Duplicate,
    FollowUp,
    IgnoreAuto,
    Lookups,
    NewTicket,
    ToQuarantine,
    decide_mail,
)
from helpdesk.intake.email.parser import ParsedEmail, parse_email


@dataclass
class FakeTicket:
    reference: str
    state: str = "received"


def _mail(*, subject: str = "Access request", headers: str = "", body: str = "Please send my data.") -> ParsedEmail:
    raw = (f"From: Kim <kim@example.com>\nTo: micube@micube.co.kr\nSubject: {subject}\n"
           f"Message-ID: <m1@example.com>\nDate: Thu, 08 Jan 2026 09:00:00 +0900\n{headers}"
           f"Content-Type: text/plain; charset=utf-8\n\n{body}\n")
    return parse_email(raw.encode())


def test_quarantine_is_passed_through() -> None:
    assert decide_mail(ToQuarantine("empty", "message is empty"), Lookups[FakeTicket]()) == ToQuarantine("empty",
                                                                                                "message is empty")


def test_a_stored_key_is_a_duplicate_before_anything_else() -> None:
    ticket = FakeTicket("PRIV-2026-0001")
    mail = _mail(headers="In-Reply-To: <ours@desk>\nAuto-Submitted: auto-replied\n")
    assert decide_mail(mail, Lookups(duplicate_of="PRIV-2026-0009", by_message_id={"ours@desk": ticket})) == \
        Duplicate("PRIV-2026-0009")


def test_new_ticket_with_suggested_type_and_language() -> None:
    mail = _mail(subject="개인정보 삭제 요청", body="제 개인정보를 삭제해 주세요.")
    decision = decide_mail(mail, Lookups[FakeTicket]())
    assert isinstance(decision, NewTicket)
    assert decision.language == "ko" and decision.request_type == "deletion"
    assert decide_mail(_mail(), Lookups[FakeTicket]()) == NewTicket("access", "en")


def test_headers_thread_in_reply_to_first_then_references_newest_first() -> None:
    a, b, c = FakeTicket("A"), FakeTicket("B"), FakeTicket("C")
    mail = _mail(headers="In-Reply-To: <x@desk>\nReferences: <old@desk> <new@desk>\n")
    assert decide_mail(mail, Lookups(by_message_id={"x@desk": a, "old@desk": b, "new@desk": c})) == FollowUp(a, False)
    assert decide_mail(mail, Lookups(by_message_id={"old@desk": b, "new@desk": c})) == FollowUp(c, False)
    assert decide_mail(mail, Lookups(by_message_id={"old@desk": b})) == FollowUp(b, False)


def test_only_the_first_thread_ids_max_distinct_ids_are_looked_up() -> None:
    references = " ".join(f"<r{n}@x>" for n in range(THREAD_IDS_MAX + 5))
    mail = _mail(headers=f"References: {references}\n")
    far = FakeTicket("FAR")
    # References newest first: the oldest five ids are beyond the bound.
    assert decide_mail(mail, Lookups(by_message_id={"r0@x": far})) == NewTicket("access", "en")
    assert decide_mail(mail, Lookups(by_message_id={"r5@x": far})) == FollowUp(far, False)


def test_subject_reference_only_from_a_party_to_that_ticket() -> None:
    ticket = FakeTicket("PRIV-2026-0007")
    mail = _mail(subject="Re: [PRIV-2026-0007] my request")
    assert isinstance(decide_mail(mail, Lookups(by_reference={"PRIV-2026-0007": ticket})), NewTicket)
    assert decide_mail(mail, Lookups(by_reference={"PRIV-2026-0007": ticket}, sender_is_party={"PRIV-2026-0007"})) == \
        FollowUp(ticket, False)


def test_a_mail_moves_a_ticket_awaiting_the_requester_or_answered() -> None:
    mail = _mail(headers="In-Reply-To: <x@desk>\n")
    for state, moves in [("received", False), ("verified", False), ("processed", False),
                         ("awaiting_requester", True), ("responded", True), ("rejected", True)]:
        ticket = FakeTicket("T", state)
        assert decide_mail(mail, Lookups(by_message_id={"x@desk": ticket})) == FollowUp(ticket, moves), state


def test_automatic_mail_never_opens_a_ticket_and_is_kept_on_the_one_it_continues() -> None:
    ticket = FakeTicket("T", "responded")
    mail = _mail(headers="Auto-Submitted: auto-replied\nIn-Reply-To: <x@desk>\n")
    assert decide_mail(mail, Lookups[FakeTicket]()) == IgnoreAuto("auto_submitted", None)
    assert decide_mail(mail, Lookups(by_message_id={"x@desk": ticket})) == IgnoreAuto("auto_submitted", ticket)
