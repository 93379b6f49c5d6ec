"""Merging a duplicate into the ticket that stays, and linking related tickets (issue 26, point 5).

What moves: the duplicate's messages (with their files, so the power of attorney and the scans go
too), its participants, and the tickets merged into it before. What does not move: its audit trail.
Each ticket's events are hash-chained on the ticket (``helpdesk.trust.audit``); rewriting old rows'
ticket would break both chains, so the merge is recorded on both tickets and the staying ticket's
timeline reads the merged tickets' trails too (``helpdesk.selectors.ticket_detail``).

The duplicate ends ``merged`` (a guarded, permission-checked, audited transition of the registry)
with ``merged_into`` pointing at the ticket that stays, whose deadline becomes the earlier of the two
(``workflows.sla.take_earlier_deadline``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Attachment, Message, Participant, TaskState, Ticket, User
from helpdesk.services.errors import GuardError, PermissionDeniedError, TransitionNotAllowedError
from helpdesk.services.locking import bump, check_version
from helpdesk.services.transitions import run_transition
from helpdesk.trust import audit
from workflows import sla
from workflows.roles import can_act_on_ticket, can_view_ticket
from workflows.states import TicketState


@dataclass(frozen=True)
class MergePreview:
    """What a merge would move: shown on the desk's confirmation step before anything changes."""

    messages: int
    files: int
    participants: int
    other_requester: bool
    due_at_after: datetime


def preview_merge(*, duplicate: Ticket, into: Ticket) -> MergePreview:
    """What :func:`merge_ticket` would move; raises its errors about ``into`` (not the confirmation)."""
    if duplicate.pk == into.pk:
        raise GuardError({"into": _("A ticket cannot be merged into itself.")})
    _check(duplicate, into, confirm_other_requester=True)
    return MergePreview(
        messages=Message.objects.filter(ticket=duplicate).count(),
        files=Attachment.objects.filter(message__ticket=duplicate).count(),
        participants=Participant.objects.filter(ticket=duplicate, removed_at__isnull=True).count(),
        other_requester=duplicate.requester_id != into.requester_id,
        due_at_after=min(duplicate.due_at, into.due_at),
    )


def _lock_pair(first_pk: int, second_pk: int) -> dict[int, Ticket]:
    """Both rows locked in primary-key order: two merges of the same pair cannot deadlock."""
    return {pk: Ticket.objects.select_for_update().select_related("requester").get(pk=pk)
            for pk in sorted((first_pk, second_pk))}


def _check(duplicate: Ticket, into: Ticket, confirm_other_requester: bool) -> None:
    if duplicate.state == TicketState.MERGED:
        raise TransitionNotAllowedError(_("%(ref)s was merged already.") % {"ref": duplicate.reference})
    errors: dict[str, str] = {}
    if into.state == TicketState.MERGED:
        target = into.merged_into.reference if into.merged_into else "—"
        errors["into"] = _("%(ref)s was itself merged into %(target)s; merge into that one instead.") % {
            "ref": into.reference, "target": target}
    elif not into.is_open:
        errors["into"] = _("%(ref)s is closed (%(state)s); a request cannot be merged into a closed one. "
                           "Reopen it first, or merge it into this ticket instead.") % {
            "ref": into.reference, "state": into.get_state_display()}
    open_tasks = list(duplicate.tasks.filter(state=TaskState.OPEN).values_list("number", flat=True))
    if open_tasks:  # its contact's answer would no longer find the task (tasks stay on their ticket)
        errors["into"] = _("%(ref)s has open tasks (%(tasks)s): close or cancel them before merging.") % {
            "ref": duplicate.reference, "tasks": ", ".join(f"T{number}" for number in open_tasks)}
    if duplicate.requester_id != into.requester_id and not confirm_other_requester:
        errors["confirm_other_requester"] = _(
            "%(ref)s was made by a different requester. Their messages will be shown on this requester's "
            "ticket: confirm that both requests come from the same person or their representative.") % {
            "ref": into.reference}
    if errors:
        raise GuardError(errors)


def _move_participants(duplicate: Ticket, into: Ticket, actor: User) -> int:
    """Active participants go over; one the staying ticket has already is kept on record as removed, and
    so is every one of another requester's ticket: they must not receive this requester's answers."""
    already = set(Participant.objects.filter(ticket=into, removed_at__isnull=True).values_list("email", flat=True))
    already.add(into.requester.email or "")
    other_requester = duplicate.requester_id != into.requester_id
    moved = 0
    for participant in Participant.objects.filter(ticket=duplicate):
        if participant.removed_at is None and (other_requester or participant.email in already):
            participant.removed_at, participant.removed_by = timezone.now(), actor
        elif participant.removed_at is None:
            moved += 1
            already.add(participant.email)
        participant.ticket = into
        participant.save(update_fields=["ticket", "removed_at", "removed_by"])
    return moved


@transaction.atomic
def merge_ticket(*, duplicate: Ticket, into: Ticket, actor: User, confirm_other_requester: bool = False,
                 expected_version: int | None = None) -> Ticket:
    """Merge ``duplicate`` into ``into`` (the ticket that stays) and return the ticket that stays.

    Raises :class:`GuardError` with field errors (``into``, ``confirm_other_requester``) for a merge
    into itself, into a merged or closed ticket, or across requesters without confirmation;
    :class:`ConflictError` when ``expected_version`` is behind the duplicate's; nothing changes then.
    """
    if actor is None:
        raise PermissionDeniedError(_("Sign in to act on tickets."))
    if duplicate.pk == into.pk:
        raise GuardError({"into": _("A ticket cannot be merged into itself.")})
    rows = _lock_pair(duplicate.pk, into.pk)
    dup, stays = rows[duplicate.pk], rows[into.pk]
    check_version(dup, expected_version)
    if not (can_act_on_ticket(actor, dup) and can_act_on_ticket(actor, stays)):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager of both tickets can merge them."))
    _check(dup, stays, confirm_other_requester)

    messages = Message.objects.filter(ticket=dup).count()
    Message.objects.filter(ticket=dup, merged_from__isnull=True).update(ticket=stays, merged_from=dup)
    Message.objects.filter(ticket=dup).update(ticket=stays)  # merged into dup before: keep their origin
    participants = _move_participants(dup, stays, actor)
    repointed = Ticket.objects.filter(merged_into=dup).update(merged_into=stays)
    summary = {"messages": messages, "participants": participants, "repointed": repointed,
               "other_requester": dup.requester_id != stays.requester_id}

    dup.merged_into = stays
    run_transition(dup, "merge", actor=actor, as_requester=False, data={},
                   audit_extra={"into": stays.reference, **summary})
    deadline = sla.take_earlier_deadline(stays, dup)
    bump(stays)
    audit.record_event(ticket=stays, actor=actor, action="ticket.merged_in",
                       data={"duplicate": dup.reference, **summary})
    if deadline["changed"]:
        audit.record_event(ticket=stays, actor=actor, action="sla.deadline_from_merge", data=deadline)
    duplicate.refresh_from_db()
    into.refresh_from_db()
    return stays


# --- Related tickets: a symmetric link, recorded on both -------------------------------------------
def _lock_for_link(ticket: Ticket, other: Ticket, actor: User) -> tuple[Ticket, Ticket]:
    if ticket.pk == other.pk:
        raise GuardError({"other": _("A ticket cannot be linked to itself.")})
    rows = _lock_pair(ticket.pk, other.pk)
    mine, theirs = rows[ticket.pk], rows[other.pk]
    if not can_act_on_ticket(actor, mine):
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    if not can_view_ticket(actor, theirs):
        raise GuardError({"other": _("No ticket with this reference.")})
    return mine, theirs


@transaction.atomic
def link_tickets(*, ticket: Ticket, other: Ticket, actor: User) -> None:
    """Mark two tickets as related (shown on both); audited on both."""
    mine, theirs = _lock_for_link(ticket, other, actor)
    if mine.related.filter(pk=theirs.pk).exists():
        raise GuardError({"other": _("These tickets are linked already.")})
    mine.related.add(theirs)  # symmetric: theirs.related has mine too
    for one, two in ((mine, theirs), (theirs, mine)):
        bump(one)
        audit.record_event(ticket=one, actor=actor, action="ticket.linked", data={"other": two.reference})


@transaction.atomic
def unlink_tickets(*, ticket: Ticket, other: Ticket, actor: User) -> None:
    mine, theirs = _lock_for_link(ticket, other, actor)
    if not mine.related.filter(pk=theirs.pk).exists():
        raise GuardError({"other": _("These tickets are not linked.")})
    mine.related.remove(theirs)
    for one, two in ((mine, theirs), (theirs, mine)):
        bump(one)
        audit.record_event(ticket=one, actor=actor, action="ticket.unlinked", data={"other": two.reference})
