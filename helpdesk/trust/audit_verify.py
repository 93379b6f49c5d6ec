"""Checking the audit trail: recompute every hash chain and report what does not add up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from helpdesk.models import AuditEvent, Ticket
from helpdesk.trust.audit import event_hash


@dataclass(frozen=True)
class Problem:
    chain: str  # ticket reference, or "(desk)" for the desk-wide chain
    seq: int | None
    kind: str  # tampered | broken_link | missing | no_chain
    detail: str

    def __str__(self) -> str:
        where = f"{self.chain} #{self.seq}" if self.seq is not None else self.chain
        return f"{self.kind}: {where}: {self.detail}"


def _chain_problems(label: str, events: list[AuditEvent]) -> Iterator[Problem]:
    expected_seq = 1
    prev_hash = ""
    for event in events:
        if event.seq != expected_seq:
            yield Problem(label, event.seq, "missing",
                          f"expected event #{expected_seq}, found #{event.seq} (rows removed?)")
        elif event.prev_hash != prev_hash:
            yield Problem(label, event.seq, "broken_link", "prev_hash does not match the previous event")
        if event_hash(event) != event.hash:
            yield Problem(label, event.seq, "tampered", "content does not match its hash")
        expected_seq = event.seq + 1
        prev_hash = event.hash


def verify_audit_trail(*, chunk_size: int = 5000) -> tuple[int, list[Problem]]:
    """Returns (events checked, problems). Streams chain by chain, ordered by (ticket, seq)."""
    problems: list[Problem] = []
    checked = 0
    current_key: object = object()
    current: list[AuditEvent] = []
    label = ""
    seen_tickets: set[int] = set()
    queryset = AuditEvent.objects.order_by("ticket_id", "seq").iterator(chunk_size=chunk_size)
    for event in queryset:
        checked += 1
        if event.ticket_id != current_key:
            if current:
                problems.extend(_chain_problems(label, current))
            current_key, current = event.ticket_id, []
            label = "(desk)" if event.ticket_id is None else (event.ticket_reference or f"ticket {event.ticket_id}")
            if event.ticket_id is not None:
                seen_tickets.add(event.ticket_id)
        current.append(event)
    if current:
        problems.extend(_chain_problems(label, current))
    # Every ticket starts its chain when it is created; a ticket without one lost it.
    for ticket_id, reference in Ticket.objects.exclude(pk__in=seen_tickets).values_list("pk", "reference") \
            .iterator(chunk_size=chunk_size):
        problems.append(Problem(reference, None, "no_chain", f"ticket {ticket_id} has no audit events"))
    return checked, problems
