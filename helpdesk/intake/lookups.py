"""What the database says about mail, for :func:`~helpdesk.intake.decide.decide_mail`: the only reads of intake.

:func:`lookups` reads them for one mail (inside ``ingest_message``'s transaction);
:class:`BatchLookups` reads them for every mail of a batch segment at once, and is then updated with
each mail decided, so that a later mail of the batch sees what an earlier one stored, exactly as it
would after ``ingest_message`` had filed the earlier one.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from django.db.models import Q

from helpdesk import services
from helpdesk.intake.decide import Lookups, TicketLike, ToQuarantine, dedupe_key, looked_up_ids, thread_ids
from helpdesk.intake.email.parser import ParsedEmail
from helpdesk.models import Message, Ticket

__all__ = ["BatchLookups", "lookups", "stored_reference"]

# A ticket a batch opened but has not written yet.
P = TypeVar("P", bound=TicketLike)


def lookups(parsed: ParsedEmail | ToQuarantine) -> Lookups[Ticket]:
    """What the database says about one mail (see ``decide.Lookups``)."""
    if isinstance(parsed, ToQuarantine):
        return Lookups()
    by_message_id: dict[str, Ticket] = {}
    ids = looked_up_ids(thread_ids(parsed))
    if ids:
        found = dict(Message.objects.filter(message_id__in=ids).order_by("id").values_list("message_id", "ticket_id"))
        tickets = Ticket.objects.select_related("requester").in_bulk(set(found.values()))
        by_message_id = {message_id: tickets[pk] for message_id, pk in found.items() if pk in tickets}
    by_reference: dict[str, Ticket] = {}
    party: set[str] = set()
    if parsed.ticket_references:
        sender = services.normalize_email(parsed.sender_email)
        by_reference = {t.reference: t for t in Ticket.objects.filter(reference__in=parsed.ticket_references)
                        .select_related("requester")}
        wrote = set(Message.objects.filter(ticket__in=list(by_reference.values()), sender=sender)
                    .values_list("ticket_id", flat=True))
        party = {r for r, t in by_reference.items() if t.requester.email == sender or t.pk in wrote}
    return Lookups(duplicate_of=stored_reference(dedupe_key(parsed)), by_message_id=by_message_id,
                   by_reference=by_reference, sender_is_party=party)


def stored_reference(key: str) -> str | None:
    """The reference of the ticket holding the mail with this dedupe key, if one does."""
    reference: str | None = (Message.objects.filter(dedupe_key=key)
                             .values_list("ticket__reference", flat=True).first())
    return reference


class BatchLookups(Generic[P]):
    """``ingest.lookups`` for every mail of a segment at once, kept up to date as its mails are decided.

    Row locks on every stored ticket the segment may write to are taken here and held until the
    commit; in id order, so two ingesters answering the same tickets queue instead of deadlocking.
    """

    def __init__(self, mails: list[ParsedEmail]) -> None:
        self.keys: dict[str, str | Ticket | P] = {
            key: reference for key, reference in Message.objects.filter(
                dedupe_key__in={dedupe_key(p) for p in mails}).values_list("dedupe_key", "ticket__reference")
            if key is not None
        }
        wanted = {i for parsed in mails for i in looked_up_ids(thread_ids(parsed))}
        stored = dict(Message.objects.filter(message_id__in=wanted).order_by("id")
                      .values_list("message_id", "ticket_id"))
        named = {reference for parsed in mails for reference in parsed.ticket_references}
        locked = {t.pk: t for t in Ticket.objects.select_for_update(of=("self",)).select_related("requester")
                  .filter(Q(pk__in=set(stored.values())) | Q(reference__in=named)).order_by("pk")}
        self.by_message_id: dict[str, Ticket | P] = {mid: locked[pk] for mid, pk in stored.items() if pk in locked}
        self.by_reference: dict[str, Ticket] = {t.reference: t for t in locked.values() if t.reference in named}
        # (reference, address): the address is a party to that stored ticket (its requester, or wrote on it).
        self.parties = {(t.reference, t.requester.email) for t in locked.values() if t.reference in named}
        senders = {services.normalize_email(p.sender_email) for p in mails if p.ticket_references}
        if self.by_reference and senders:
            self.parties |= {(locked[pk].reference, sender) for pk, sender in Message.objects.filter(
                ticket_id__in=[t.pk for t in self.by_reference.values()], sender__in=senders,
            ).values_list("ticket_id", "sender").distinct()}

    def of(self, parsed: ParsedEmail | ToQuarantine) -> Lookups[Ticket | P]:
        if isinstance(parsed, ToQuarantine):
            return Lookups()
        sender = services.normalize_email(parsed.sender_email)
        return Lookups(duplicate_of=self.keys.get(dedupe_key(parsed)), by_message_id=self.by_message_id,
                       by_reference=self.by_reference,
                       sender_is_party={r for r in parsed.ticket_references if (r, sender) in self.parties})

    def complete_for(self, parsed: ParsedEmail | ToQuarantine, opened: bool) -> bool:
        """False when a reference the mail names may be a ticket this segment ``opened`` (not yet known)."""
        return isinstance(parsed, ToQuarantine) or not opened or all(
            reference in self.by_reference for reference in parsed.ticket_references)

    def record(self, parsed: ParsedEmail, key: str, target: Ticket | P) -> None:
        """The mail is stored on ``target``: later mails of the batch see it as one ingest_message stored."""
        self.keys[key] = target
        if parsed.message_id:  # later mail in this batch may answer this one
            self.by_message_id[parsed.message_id[:998]] = target
        if isinstance(target, Ticket):
            self.parties.add((target.reference, services.normalize_email(parsed.sender_email)))
