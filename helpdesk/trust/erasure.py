"""Erasure on request: find and erase a requester's personal data held by the desk itself.

Started from the requester's deletion (or membership-withdrawal) ticket by its assigned
administrator or a manager: :func:`preview_desk_erasure` says what will go, :func:`erase_personal_data`
does it in one transaction and audits it on that ticket.

The rule for each of the requester's tickets (docs/trust.md):

* **kept as is** — the request being answered (it is the record that we honoured it), tickets
  under legal hold, and tickets still open (still being handled; close them first);
* **minimised** — closed tickets whose category has a *statutory* retention period that has not
  run out (complaints and rights requests: 3 years; withdrawals: 5 years). The law requires the
  record, so the ticket, its messages and its audit trail stay, but attachments (often identity
  documents) and raw mail are destroyed: the record does not need them;
* **erased** — every other closed ticket: deleted with its messages, files and audit chain, after
  being counted into the anonymous monthly figures.

Unfiled mail (quarantine) from the address is destroyed. The requester row is deleted when no
ticket is left, otherwise its name, phone and organisation are blanked (the address stays: kept
tickets and the answer to this request need it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.models import Attachment, Message, Quarantine, Requester, Ticket, User
from helpdesk.services import GuardError, PermissionDeniedError
from helpdesk.trust import audit, retention
from helpdesk.trust.destroy import destroy_after_commit
from workflows.request_types import RequestType
from workflows.roles import can_act_on_ticket

ERASURE_REQUEST_TYPES = frozenset({RequestType.DELETION, RequestType.MEMBERSHIP_WITHDRAWAL})

Decision = Literal["keep", "minimise", "erase"]

REASONS: dict[str, Any] = {
    "this_request": _("The request being answered: its record is kept."),
    "legal_hold": _("Under legal hold."),
    "open": _("Still being handled: close it first."),
    "statutory": _("Kept by law until {until}; attachments and raw mail are destroyed."),
    "erase": _("Not required by law: erased."),
}


@dataclass
class TicketPlan:
    reference: str
    state: str
    request_type: str
    decision: Decision
    reason: str
    messages: int = 0
    attachments: int = 0
    raw_mails: int = 0


@dataclass
class DeskErasurePlan:
    email: str
    tickets: list[TicketPlan] = field(default_factory=list)
    quarantine: int = 0
    # Always redacted: the request's own ticket is kept, so its requester stays (without details).
    requester: Literal["redact"] = "redact"
    done: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def by_decision(self, decision: Decision) -> list[TicketPlan]:
        return [t for t in self.tickets if t.decision == decision]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ticket_decision(ticket: Ticket, *, request: Ticket, now: datetime,
           policy_map: dict[str, Any]) -> tuple[Decision, str]:
    if ticket.pk == request.pk:
        return "keep", str(REASONS["this_request"])
    if ticket.legal_hold:
        return "keep", str(REASONS["legal_hold"])
    if ticket.is_open or ticket.closed_at is None:
        return "keep", str(REASONS["open"])
    policy = policy_map[retention.category_for(ticket.request_type)]
    until = retention.keep_until(ticket, policy_map)
    if policy.statutory and until is not None and until > now:
        return "minimise", str(REASONS["statutory"]).format(until=timezone.localtime(until).date().isoformat())
    return "erase", str(REASONS["erase"])


def _check(ticket: Ticket, actor: User) -> None:
    if not can_act_on_ticket(actor, ticket):
        raise PermissionDeniedError(gettext("Only the assigned administrator or a manager can erase personal data."))
    if ticket.request_type not in ERASURE_REQUEST_TYPES:
        raise GuardError({"request_type": gettext("Erasure runs from a deletion or membership-withdrawal request.")})


def _plan(request: Ticket, now: datetime) -> DeskErasurePlan:
    requester = request.requester
    plan = DeskErasurePlan(email=requester.email)
    policy_map = retention.policies()
    tickets = list(Ticket.objects.filter(requester=requester).order_by("received_at", "pk"))
    for ticket in tickets:
        decision, reason = ticket_decision(ticket, request=request, now=now, policy_map=policy_map)
        messages = Message.objects.filter(ticket=ticket)
        plan.tickets.append(TicketPlan(
            reference=ticket.reference, state=ticket.state, request_type=ticket.request_type,
            decision=decision, reason=reason, messages=messages.count(),
            attachments=Attachment.objects.filter(message__ticket=ticket).count(),
            raw_mails=messages.exclude(raw_message="").count(),
        ))
    plan.quarantine = Quarantine.objects.filter(sender__iexact=requester.email).count()
    return plan


def preview_desk_erasure(*, ticket: Ticket, actor: User) -> DeskErasurePlan:
    """What :func:`erase_personal_data` would do now; changes nothing."""
    _check(ticket, actor)
    return _plan(ticket, timezone.now())


@transaction.atomic
def erase_personal_data(*, ticket: Ticket, actor: User, expected_version: int | None = None) -> DeskErasurePlan:
    """Erase the requester's personal data as previewed; audited on ``ticket``."""
    locked = services.lock_for_staff(ticket, actor, expected_version)  # row lock, version, permission
    _check(locked, actor)
    now = timezone.now()
    plan = _plan(locked, now)
    requester = locked.requester
    counts: Counter[str] = Counter()
    references = {t.reference: t for t in plan.tickets}

    to_erase = list(Ticket.objects.select_for_update().filter(
        reference__in=[t.reference for t in plan.by_decision("erase")]))
    counts.update(retention.delete_tickets(to_erase, reason="erasure", actor=actor))

    minimise_ids = list(Ticket.objects.filter(
        reference__in=[t.reference for t in plan.by_decision("minimise")]).values_list("pk", flat=True))
    files: list[tuple[Any, str | None]] = []
    for attachment in Attachment.objects.filter(message__ticket_id__in=minimise_ids):
        files.append((attachment.file.storage, attachment.file.name))
    counts["attachments"] += Attachment.objects.filter(message__ticket_id__in=minimise_ids).delete()[0]
    raw = Message.objects.filter(ticket_id__in=minimise_ids).exclude(raw_message="")
    for message in raw:
        files.append((message.raw_message.storage, message.raw_message.name))
    counts["raw_mails"] += raw.update(raw_message="")
    for reference in (t.reference for t in plan.by_decision("minimise")):
        minimised = Ticket.objects.get(reference=reference)
        audit.record_event(ticket=minimised, actor=actor, action="erasure.minimised",
                           data={"request": locked.reference, "attachments": references[reference].attachments,
                                 "raw_mails": references[reference].raw_mails})

    quarantined = list(Quarantine.objects.filter(sender__iexact=requester.email))
    files.extend((q.raw_message.storage, q.raw_message.name) for q in quarantined)
    counts["quarantine"] += Quarantine.objects.filter(pk__in=[q.pk for q in quarantined]).delete()[0]
    destroy_after_commit(files)
    counts["files"] += len([name for _storage, name in files if name])

    # The request ticket is always kept (plan.requester is "redact"), so the requester row is
    # redacted, never deleted, here; it goes with the last ticket at the end of its retention period.
    Requester.objects.filter(pk=requester.pk).update(name="", phone="", organization="")
    counts["requesters_redacted"] += 1

    audit.record_event(
        ticket=locked, actor=actor, action="erasure.performed",
        data={"erased": sorted(t.reference for t in to_erase),
              "minimised": sorted(t.reference for t in plan.by_decision("minimise")),
              "kept": sorted(t.reference for t in plan.by_decision("keep")),
              "counts": {k: v for k, v in counts.items() if not k.startswith("tickets.")}},
    )
    services.bump(locked)
    plan.done = True
    plan.counts = dict(counts)
    return plan
