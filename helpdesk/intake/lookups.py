"""What the database says about mail, for :func:`~helpdesk.intake.decide.decide_mail`: the only reads of intake.

:func:`lookups` reads them for one mail (inside ``ingest_message``'s transaction);
:class:`BatchLookups` reads them for every mail of a batch segment at once, and is then updated with
each mail decided, so that a later mail of the batch sees what an earlier one stored, exactly as it
would after ``ingest_message`` had filed the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from django.db.models import F, Q, QuerySet

from helpdesk import services
from helpdesk.intake.decide import (
    Lookups,
    TaskRef,
    TicketLike,
    ToQuarantine,
    dedupe_key,
    looked_up_ids,
    thread_ids,
)
from helpdesk.intake.email.parser import ParsedEmail
from helpdesk.models import Direction, Message, MessageKind, Participant, Task, TaskState, Ticket

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
    if parsed.ticket_references:
        # A merged ticket's reference leads to the ticket that stays (issue 26).
        by_reference = {t.reference: t.merged_into or t for t in Ticket.objects.filter(
            reference__in=parsed.ticket_references).select_related("requester", "merged_into__requester")}
    candidates = {t.pk: t for t in [*by_message_id.values(), *by_reference.values()]}
    sender = services.normalize_email(parsed.sender_email)
    party = {pk for pk, t in candidates.items() if t.requester.email == sender}
    if candidates.keys() - party:
        party |= set(_mailed_by(sender).filter(ticket_id__in=candidates.keys() - party)
                     .values_list("ticket_id", flat=True))
    if candidates.keys() - party:  # people in Cc (issue 26) answer too
        party |= set(_participating(sender).filter(ticket_id__in=candidates.keys() - party)
                     .values_list("ticket_id", flat=True))
    tasks: dict[int, list[TaskRef]] = {}
    if candidates.keys() - party:  # a department, processor or provider answers its task (issue 26)
        tasks = _tasked(candidates.keys() - party, [sender])
        party |= set(tasks)
    return Lookups(duplicate_of=stored_reference(dedupe_key(parsed)), by_message_id=by_message_id,
                   by_reference=by_reference, sender_is_party=lambda ticket: ticket.pk in party,
                   sender_tasks=lambda ticket: tasks.get(ticket.pk, ()))


def _mailed_by(*senders: str) -> QuerySet[Message]:
    """Mail these addresses sent on tickets: what makes them a party (never notes, nor automatic mail).

    Mail moved in by a merge of another requester's ticket does not count (issue 26): their later
    mail must not land on, nor show on the status page of, a ticket that is not theirs; it opens its
    own ticket, which staff may merge again."""
    return Message.objects.filter(sender__in=senders, direction=Direction.INBOUND, kind=MessageKind.MAIL).filter(
        Q(merged_from__isnull=True) | Q(merged_from__requester_id=F("ticket__requester_id")))


def _participating(*addresses: str) -> QuerySet[Participant]:
    """Current participants (Cc) with these addresses: they receive the replies and may answer."""
    return Participant.objects.filter(email__in=addresses, removed_at__isnull=True)


def _tasked(ticket_ids: Iterable[int], senders: list[str]) -> dict[int, list[TaskRef]]:
    """Tasks (issue 26) of these tickets mailed to one of ``senders``, by ticket, oldest first.

    Only for tickets the sender is not otherwise a party to: the requester or a participant who is
    also a contact writes as themselves.
    """
    found: dict[int, list[TaskRef]] = {}
    for pk, ticket_id, number, state, mail_id in (
            Task.objects.filter(ticket_id__in=ticket_ids, contact_email__in=senders).order_by("number")
            .values_list("pk", "ticket_id", "number", "state", "mail__message_id")):
        found.setdefault(ticket_id, []).append(TaskRef(pk, number, mail_id or "", state == TaskState.OPEN))
    return found


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
        # A merged ticket's reference leads to the ticket that stays (issue 26): that one is locked too.
        merged = dict(Ticket.objects.filter(reference__in=named, merged_into__isnull=False)
                      .values_list("reference", "merged_into_id")) if named else {}
        locked = {t.pk: t for t in Ticket.objects.select_for_update(of=("self",)).select_related("requester")
                  .filter(Q(pk__in={*stored.values(), *merged.values()}) | Q(reference__in=named)).order_by("pk")}
        self.by_message_id: dict[str, Ticket | P] = {mid: locked[pk] for mid, pk in stored.items() if pk in locked}
        self.by_reference: dict[str, Ticket] = {t.reference: t for t in locked.values() if t.reference in named}
        self.by_reference.update({ref: locked[pk] for ref, pk in merged.items() if pk in locked})
        # (ticket key, address): the address is a party to that ticket (its requester, or mailed on it).
        self.parties = {(_key(t), t.requester.email) for t in locked.values()}
        senders = {services.normalize_email(p.sender_email) for p in mails}
        if locked and senders:
            self.parties |= {(_key(locked[pk]), sender) for pk, sender in _mailed_by(*senders).filter(
                ticket_id__in=list(locked)).values_list("ticket_id", "sender").distinct()}
            self.parties |= {(_key(locked[pk]), email) for pk, email in _participating(*senders).filter(
                ticket_id__in=list(locked)).values_list("ticket_id", "email")}
        # Task contacts (issue 26), per (ticket, address): the mail is then filed by ingest_message.
        self.tasks: dict[tuple[tuple[str, int], str], list[TaskRef]] = {}
        if locked and senders:
            for task_pk, pk, sender, number, state, mail_id in Task.objects.filter(
                    ticket_id__in=list(locked), contact_email__in=senders).order_by("number").values_list(
                    "pk", "ticket_id", "contact_email", "number", "state", "mail__message_id"):
                key = (_key(locked[pk]), sender)
                if key not in self.parties:
                    self.tasks.setdefault(key, []).append(
                        TaskRef(task_pk, number, mail_id or "", state == TaskState.OPEN))

    def of(self, parsed: ParsedEmail | ToQuarantine) -> Lookups[Ticket | P]:
        if isinstance(parsed, ToQuarantine):
            return Lookups()
        sender = services.normalize_email(parsed.sender_email)
        return Lookups(duplicate_of=self.keys.get(dedupe_key(parsed)), by_message_id=self.by_message_id,
                       by_reference=self.by_reference,
                       sender_is_party=lambda ticket: ((_key(ticket), sender) in self.parties
                                                       or (_key(ticket), sender) in self.tasks),
                       sender_tasks=lambda ticket: self.tasks.get((_key(ticket), sender), ()))

    def complete_for(self, parsed: ParsedEmail | ToQuarantine, opened: bool) -> bool:
        """False when a reference the mail names may be a ticket this segment ``opened`` (not yet known)."""
        return isinstance(parsed, ToQuarantine) or not opened or all(
            reference in self.by_reference for reference in parsed.ticket_references)

    def record(self, parsed: ParsedEmail, key: str, target: Ticket | P) -> None:
        """The mail is stored on ``target``: later mails of the batch see it as one ingest_message stored."""
        self.keys[key] = target
        if parsed.message_id:  # later mail in this batch may answer this one
            self.by_message_id[parsed.message_id[:998]] = target
        if not parsed.auto_reason:  # the sender opened it or passed the party check
            self.parties.add((_key(target), services.normalize_email(parsed.sender_email)))


def _key(ticket: object) -> tuple[str, int]:
    """A stored ticket by id; one a batch opened (not written yet) by the object itself."""
    return ("stored", ticket.pk) if isinstance(ticket, Ticket) else ("opened", id(ticket))
