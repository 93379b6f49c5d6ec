"""Surge tools (issue 31): one action over many tickets as one background job, exactly once per ticket.

Not to be confused with :mod:`helpdesk.services.bulk` (mail intake's bulk INSERT).

:func:`start_bulk_job` checks the action and its parameters (only roles that may do the single action
may do it in bulk; read-only roles may not), stores a :class:`~helpdesk.models.BulkJob` with one
:class:`~helpdesk.models.BulkItem` per ticket and enqueues ``helpdesk.desk.tasks.run_bulk_job`` after
commit (in-process without a broker). :func:`run_bulk_job` works through the pending items in groups of
:data:`GROUP`, one transaction per group: each item row is locked (``SKIP LOCKED``: a second run of the
same job passes over it), the single action's own service runs (its permission check, guards, audit
event and after-commit mail), and the item is marked done in that same transaction. A ticket whose state
forbids the action is skipped with the service's reason; a retried, repeated or killed job resumes with
what is still pending, so no ticket is acted on twice and no mail is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.models import BulkAction, BulkItem, BulkItemState, BulkJob, BulkJobStatus, Ticket, User
from helpdesk.selectors import bulk_progress
from helpdesk.services.assignment import assign_ticket
from helpdesk.services.errors import GuardError, PermissionDeniedError, ServiceError
from helpdesk.services.merging import merge_ticket
from helpdesk.services.messages import send_reply
from helpdesk.services.policies import extend_deadline
from helpdesk.tasking import enqueue
from helpdesk.trust import audit
from notifications.models import ResponseTemplate
from notifications.templates_render import render_response_template
from workflows.roles import is_desk_staff, is_manager, ticket_scope

logger = logging.getLogger(__name__)

MAX_TICKETS = 50_000  # one job; a whole breach's filter result fits
BATCH = 500  # pending items read per query while a job runs
# Items per transaction: each ticket's change and its item's "done" commit together, so a group is all or
# nothing. One commit per ticket made PostgreSQL's commit wait the bulk of the work; a group of 20 holds
# the 20 tickets' row locks for well under a second (a desk user saving one of them waits that long).
GROUP = 20
TASK = "helpdesk.desk.tasks.run_bulk_job"
ACTIONS = tuple(BulkAction.values)

TicketAction = Callable[[Ticket], Any]


def check_bulk_action(*, actor: User, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters, checked and normalised (JSON); raises what the single action would."""
    if not is_desk_staff(actor):
        raise PermissionDeniedError(_("Read-only roles cannot change tickets."))
    if action == BulkAction.ASSIGN:
        username = params.get("assignee") or None
        assignee = None
        if username is not None:
            assignee = User.objects.filter(username=username, is_active=True).first()
            if assignee is None or not is_desk_staff(assignee):
                raise GuardError({"assignee": _("Tickets can only be assigned to desk staff.")})
        if not is_manager(actor) and (assignee is None or assignee.pk != actor.pk):
            raise PermissionDeniedError(_("Only a manager can reassign a ticket."))
        return {"assignee": username}
    if action == BulkAction.REPLY:
        template = _template(params.get("template"))
        if template is None:
            raise GuardError({"template": _("Choose an active reply template.")})
        return {"template": template.pk, "and_respond": bool(params.get("and_respond", False))}
    if action == BulkAction.EXTEND:
        reason = str(params.get("reason") or "").strip()
        if not reason:
            raise GuardError({"reason": _("Give the reason for the extension; the requester is told it.")})
        return {"reason": reason}
    if action == BulkAction.CLOSE_DUPLICATE:
        reference = str(params.get("into") or "").strip().upper()
        into = Ticket.objects.filter(ticket_scope(actor).q(), reference=reference).first() if reference else None
        if into is None:
            raise GuardError({"into": _("Give the reference of a ticket you can see: the one that stays.")})
        return {"into": into.reference, "confirm_other_requester": bool(params.get("confirm_other_requester"))}
    raise GuardError({"action": _("Unknown action.")})


def _template(value: Any) -> ResponseTemplate | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return ResponseTemplate.objects.filter(pk=pk, is_active=True).first()


def start_bulk_job(*, actor: User, action: str, ticket_ids: Sequence[int], params: dict[str, Any],
                   selection: dict[str, Any] | None = None, language: str | None = None) -> BulkJob:
    """Store the job and its items and run it in the background (after commit).

    ``ticket_ids`` are the tickets the caller selected among those ``actor`` may see (by hand, or a
    whole filter's result); each is still checked by the single action's service when its turn comes.
    """
    checked = check_bulk_action(actor=actor, action=action, params=params)
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise GuardError({"tickets": _("Select at least one ticket.")})
    if len(ids) > MAX_TICKETS:
        raise GuardError({"tickets": _("Select at most %(count)d tickets at once.") % {"count": MAX_TICKETS}})
    with transaction.atomic():
        job = BulkJob.objects.create(action=action, params=checked, selection=selection or {}, created_by=actor,
                                     total=len(ids), language=language or translation.get_language() or "ko")
        BulkItem.objects.bulk_create([BulkItem(job=job, ticket_id=pk) for pk in ids], batch_size=2000)
        audit.record_event(ticket=None, actor=actor, action="bulk.started",
                           data={"job": job.pk, "action": action, "tickets": len(ids)})
        job_id = job.pk
        transaction.on_commit(lambda: enqueue(TASK, job_id))
    return job


def resume_stalled_jobs(*, idle_seconds: int = 600) -> list[int]:
    """Enqueue again every unfinished job nothing happened on for ``idle_seconds`` (beat, every 5 minutes).

    A worker killed mid-job leaves its task unacknowledged at the broker (Redis gives it back only after
    its visibility timeout); this picks the job up sooner. Running a job twice is harmless.
    """
    since = timezone.now() - timedelta(seconds=idle_seconds)
    stalled = []
    for job in BulkJob.objects.exclude(status=BulkJobStatus.DONE).filter(created_at__lt=since).order_by("pk"):
        last = job.items.exclude(finished_at=None).order_by("-finished_at").values_list("finished_at", flat=True)
        latest = last.first()
        if latest is None or latest < since:
            stalled.append(job.pk)
            enqueue(TASK, job.pk)
    return stalled


def run_bulk_job(*, job_id: int) -> dict[str, int]:
    """Carry out every pending item of the job; safe to run again, or twice at once. Returns the summary."""
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().select_related("created_by").get(pk=job_id)
        if job.status == BulkJobStatus.DONE:
            return bulk_progress(job)
        job.runs += 1
        job.status = BulkJobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["runs", "status", "started_at"])
    with translation.override(job.language):
        act, why_not = _prepared(job)
        last = 0
        while True:
            pks = list(job.items.filter(state=BulkItemState.PENDING, pk__gt=last).order_by("pk")
                       .values_list("pk", flat=True)[:BATCH])
            if not pks:
                break
            for start in range(0, len(pks), GROUP):
                with transaction.atomic():
                    for pk in pks[start:start + GROUP]:
                        _run_item(pk, act, why_not)
            last = pks[-1]
    return _finish(job_id)


def _prepared(job: BulkJob) -> tuple[TicketAction | None, str]:
    """The single action for one ticket, loaded once for the job; or why it cannot run any more."""
    actor, params = job.created_by, job.params
    try:
        check_bulk_action(actor=actor, action=job.action, params=params)
    except ServiceError as exc:  # e.g. the assignee left, the template was retired
        return None, str(exc)
    if job.action == BulkAction.ASSIGN:
        assignee = User.objects.get(username=params["assignee"]) if params["assignee"] else None
        return (lambda ticket: assign_ticket(ticket=ticket, assignee=assignee, actor=actor)), ""
    if job.action == BulkAction.REPLY:
        template = ResponseTemplate.objects.get(pk=params["template"])
        return (lambda ticket: _reply(ticket, template, actor, and_respond=params["and_respond"])), ""
    if job.action == BulkAction.EXTEND:
        reason = params["reason"]
        return (lambda ticket: extend_deadline(ticket=ticket, actor=actor, reason=reason)), ""
    into = Ticket.objects.get(reference=params["into"])
    confirm = params["confirm_other_requester"]
    return (lambda ticket: _merge(ticket, into, actor, confirm)), ""


def _merge(ticket: Ticket, into: Ticket, actor: User, confirm: bool) -> None:
    """Close one selected ticket as a duplicate of ``into`` (issue 26's merge service)."""
    if ticket.pk == into.pk:
        raise GuardError({"into": _("This is the ticket the others are merged into.")})
    merge_ticket(duplicate=ticket, into=into, actor=actor, confirm_other_requester=confirm)


def _reply(ticket: Ticket, template: ResponseTemplate, actor: User, *, and_respond: bool) -> None:
    """The template rendered for this ticket, in its requester's language."""
    if template.request_type and template.request_type != ticket.request_type:
        raise GuardError({"template": _("This template is for another type of request.")})
    body = render_response_template(template, ticket, ticket.requester.language)
    send_reply(ticket=ticket, author=actor, body_text=body, and_respond=and_respond)


def _run_item(pk: int, act: TicketAction | None, why_not: str) -> None:
    """One ticket, inside its group's transaction (a savepoint of its own for the action)."""
    item = (BulkItem.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket__requester").filter(pk=pk, state=BulkItemState.PENDING).first())
    if item is None:  # done meanwhile, or another run of this job holds it
        return
    if act is None:
        item.state, item.reason = BulkItemState.SKIPPED, why_not
    else:
        try:
            with transaction.atomic():
                act(item.ticket)
        except ServiceError as exc:
            item.state, item.reason = BulkItemState.SKIPPED, str(exc)
        except (OperationalError, InterfaceError):
            raise  # the database is away: the task is retried and resumes here
        except Exception as exc:
            logger.exception("bulk job %s: ticket %s failed", item.job_id, item.ticket_id)
            item.state = BulkItemState.FAILED
            item.reason = _("Unexpected error (%(kind)s); the desk's log has the details.") % {
                "kind": type(exc).__name__}
        else:
            item.state = BulkItemState.DONE
    item.finished_at = timezone.now()
    item.save(update_fields=["state", "reason", "finished_at"])


def _finish(job_id: int) -> dict[str, int]:
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job_id)
        counts = bulk_progress(job)
        if counts["pending"] == 0 and job.status != BulkJobStatus.DONE:
            job.status = BulkJobStatus.DONE
            job.save(update_fields=["status"])
        if counts["pending"] == 0 and job.finished_at is None:  # the summary, once however often it ran
            job.finished_at = timezone.now()
            job.save(update_fields=["finished_at"])
            audit.record_event(ticket=None, actor=job.created_by, action="bulk.finished",
                               data={"job": job.pk, "action": job.action, **counts})
        return counts

