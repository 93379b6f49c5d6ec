"""Erasure and consent withdrawal: preview, approval, per-table idempotent steps at the sources, the report."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import services
from helpdesk.fulfilment import selectors
from helpdesk.fulfilment.common import (
    ERASURE_TASK,
    complete_lookup,
    enqueue_after_commit,
    four_eyes_record,
    lock_ticket_for,
    require_second_person,
    require_verified,
)
from helpdesk.fulfilment.config import configured_sources
from helpdesk.fulfilment.connectors import SourceError, connector
from helpdesk.fulfilment.models import (
    DataLookup,
    ErasurePlan,
    ErasureStatus,
    ErasureStep,
    StepStatus,
)
from helpdesk.fulfilment.shapes import LookupResult, TableResult
from helpdesk.models import Ticket, User
from helpdesk.trust import audit
from notifications.mail import render_bilingual
from workflows.request_types import RequestType


# --- Erasure -------------------------------------------------------------------------------------
def _step_action(table: TableResult, request_type: str) -> str:
    """Consent withdrawal only changes "set" tables (e.g. the marketing opt-in); others leave data as is."""
    if request_type == RequestType.CONSENT_WITHDRAWAL and table["erase"] != "set":
        return "none"
    return table["erase"]


@transaction.atomic
def preview_erasure(*, ticket: Ticket, actor: User) -> ErasurePlan:
    """From the latest complete lookup: per table what goes, what is anonymised and what is kept, and why."""
    locked = lock_ticket_for(ticket, actor)
    require_verified(locked)
    if locked.request_type not in selectors.ERASE_TYPES:
        raise services.GuardError({"erasure": _("Only deletion and withdrawal requests erase data.")})
    if ErasurePlan.objects.filter(ticket=locked).exclude(status=ErasureStatus.PREVIEWED).exists():
        raise services.ConflictError(_("An erasure was already approved for this ticket; retry its failed tables "
                                       "instead."))
    lookup = complete_lookup(locked)
    ErasurePlan.objects.filter(ticket=locked, status=ErasureStatus.PREVIEWED).delete()
    sources = {s.name: s for s in configured_sources()}
    plan = ErasurePlan.objects.create(ticket=locked, lookup=lookup, email=lookup.email, created_by=actor)
    steps: list[ErasureStep] = []
    for source in lookup.sources:
        config = sources.get(source["name"])
        for table in source["tables"]:
            action = _step_action(table, locked.request_type)
            if not table["records"] or action == "none" or config is None:
                continue
            cfg = config.table(table["name"])
            steps.append(ErasureStep(
                plan=plan, position=len(steps), source=source["name"], table=table["name"], action=action,
                columns=list(cfg.touched_columns) if cfg else [], keep_reason=table.get("keep_reason", ""),
                found=len(table["records"]), status=StepStatus.KEPT if action == "keep" else StepStatus.PENDING,
            ))
    ErasureStep.objects.bulk_create(steps)
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_previewed",
                       data={"plan": plan.pk, "lookup": lookup.pk, "steps": [
                           {"source": s.source, "table": s.table, "action": s.action, "found": s.found}
                           for s in steps]})
    return plan


@transaction.atomic
def approve_erasure(*, plan: ErasurePlan, actor: User) -> ErasurePlan:
    locked = lock_ticket_for(plan.ticket, actor)
    require_verified(locked)
    row = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
    if row.status != ErasureStatus.PREVIEWED:
        raise services.ConflictError(_("This erasure was already approved."))
    require_second_person(row.created_by, actor, _(
        "Four eyes: you previewed this erasure, so another member of staff must approve it."))
    row.status, row.approved_by, row.approved_at = ErasureStatus.APPROVED, actor, timezone.now()
    row.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_approved",
                       data={"plan": row.pk, **four_eyes_record(row.created_by, actor)})
    enqueue_after_commit(ERASURE_TASK, row.pk)
    return row


@transaction.atomic
def retry_erasure(*, plan: ErasurePlan, actor: User) -> ErasurePlan:
    """Run the tables that failed again; done tables are never touched twice."""
    locked = lock_ticket_for(plan.ticket, actor)
    require_verified(locked)
    row = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
    if row.status != ErasureStatus.PARTIAL and not row.is_stale:
        raise services.ConflictError(_("Only an erasure where a table failed can be retried."))
    row.status = ErasureStatus.APPROVED
    row.save(update_fields=["status"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_retried", data={
        "plan": row.pk, "steps": [f"{s.source}.{s.table}" for s in row.steps.filter(status=StepStatus.FAILED)]})
    enqueue_after_commit(ERASURE_TASK, row.pk)
    return row


def _claim(step_pk: int) -> ErasureStep | None:
    """Take a step that is not done yet (a crashed run leaves it 'running': safe to run again)."""
    with transaction.atomic():
        step = ErasureStep.objects.select_for_update().get(pk=step_pk)
        if step.status in (StepStatus.DONE, StepStatus.KEPT):
            return None
        step.status, step.attempts = StepStatus.RUNNING, step.attempts + 1
        step.save(update_fields=["status", "attempts"])
        return step


def run_erasure(plan_pk: int) -> ErasurePlan:
    """The task's body: each table in its own transaction at its source, recorded as soon as it commits."""
    plan = ErasurePlan.objects.get(pk=plan_pk)
    if plan.status != ErasureStatus.APPROVED:
        return plan
    sources = {s.name: s for s in configured_sources()}
    for step_pk in plan.steps.exclude(status__in=[StepStatus.DONE, StepStatus.KEPT]).values_list("pk", flat=True):
        step = _claim(step_pk)
        if step is None:
            continue
        source = sources.get(step.source)
        cfg = source.table(step.table) if source else None
        try:
            if source is None or cfg is None:
                raise SourceError(f"{step.source}.{step.table} is no longer in the data sources file")
            if cfg.erase != step.action and step.action != "set":
                raise SourceError(f"{step.source}.{step.table} now says erase = '{cfg.erase}', not '{step.action}' "
                                  "as approved: preview again")
            affected = connector(source).erase_table(plan.email, cfg)
        except SourceError as exc:
            _finish_step(plan, step, status=StepStatus.FAILED, error=str(exc))
        else:
            _finish_step(plan, step, status=StepStatus.DONE, affected=affected)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=plan.ticket_id)
        row = ErasurePlan.objects.select_for_update().get(pk=plan_pk)
        steps = list(row.steps.all())
        ok = all(s.status in (StepStatus.DONE, StepStatus.KEPT) for s in steps)
        row.status = ErasureStatus.DONE if ok else ErasureStatus.PARTIAL
        row.finished_at = timezone.now()
        row.save(update_fields=["status", "finished_at"])
        if ok:
            _redact_lookups(ticket)
        audit.record_event(ticket=ticket, actor=None, actor_name="fulfilment", action="fulfilment.erasure_finished",
                           data={"plan": row.pk, "status": row.status, "steps": [
                               {"source": s.source, "table": s.table, "action": s.action, "status": s.status,
                                "affected": s.affected} for s in steps]})
    return row


def _redact_lookups(ticket: Ticket) -> None:
    """After the erasure the desk keeps no copy of what it erased: the lookups keep only counts."""
    for lookup in DataLookup.objects.select_for_update().filter(ticket=ticket):
        result: LookupResult = {"sources": [
            {**source, "tables": [{**table, "records": [], "count": table.get("count", len(table["records"])),
                                   "redacted": True} for table in source["tables"]]}
            for source in lookup.sources]}
        lookup.result = result
        lookup.save(update_fields=["result"])


def _finish_step(plan: ErasurePlan, step: ErasureStep, *, status: str, affected: int | None = None,
                 error: str = "") -> None:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=plan.ticket_id)
        step.status, step.error = status, error
        if status == StepStatus.DONE:
            step.affected, step.done_at = affected, timezone.now()
        step.save(update_fields=["status", "error", "affected", "done_at"])
        audit.record_event(ticket=ticket, actor=None, actor_name="fulfilment",
                           action="fulfilment.table_erased" if status == StepStatus.DONE else "fulfilment.table_failed",
                           data={"plan": plan.pk, "source": step.source, "table": step.table, "action": step.action,
                                 "affected": affected, "error": error})


@transaction.atomic
def send_erasure_report(*, plan: ErasurePlan, actor: User) -> None:
    """Answer the requester: what was erased, what is kept and why (bilingual)."""
    locked = lock_ticket_for(plan.ticket, actor)
    row = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
    if row.status != ErasureStatus.DONE:
        raise services.GuardError({"erasure": _("The erasure is not complete yet.")})
    steps = list(row.steps.all())
    body = render_bilingual("erasure_report", {
        "ticket": locked,
        "erased": [s for s in steps if s.status == StepStatus.DONE],
        "kept": [s for s in steps if s.status == StepStatus.KEPT],
    }, primary=locked.requester.language)
    row.reported_at = timezone.now()
    row.save(update_fields=["reported_at"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_reported", data={"plan": row.pk})
    services.send_reply(ticket=locked, author=actor, body_text=body)
