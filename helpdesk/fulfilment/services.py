"""Writes for fulfilment: look up, build and release the access package, preview/approve/run erasure.

Each public function takes keyword-only arguments, checks the actor (the assigned administrator or
a manager), locks the ticket row (the audit chain stays linear) and records an audit event. Slow
work against the company's systems runs in Celery tasks (:mod:`helpdesk.fulfilment.tasks`),
outside any desk transaction: a source that hangs holds no lock of ours. Audit events carry counts
and names, never the records themselves.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import audit, services, tasking
from helpdesk.base_url import desk_base_url
from helpdesk.fulfilment import selectors
from helpdesk.fulfilment.config import SourceConfig, configured_sources
from helpdesk.fulfilment.connectors import SourceError, connector, lookup_source
from helpdesk.fulfilment.models import (
    STALE_AFTER,
    AccessPackage,
    DataLookup,
    ErasurePlan,
    ErasureStatus,
    ErasureStep,
    LookupStatus,
    ManualFulfilment,
    PackageStatus,
    StepStatus,
)
from helpdesk.models import Ticket, User
from notifications.mail import render_bilingual

LOOKUP_TASK = "helpdesk.fulfilment.tasks.run_lookup"
ERASURE_TASK = "helpdesk.fulfilment.tasks.run_erasure"


def _enqueue(task: str, *args: Any) -> None:
    """After commit, by name: services do not import the task module (it imports them)."""
    transaction.on_commit(lambda: tasking.enqueue(task, *args))


def _lock(ticket: Ticket, actor: User) -> Ticket:
    """The ticket's row for the assigned administrator or a manager (keeps the audit chain linear)."""
    return services.lock_for_staff(ticket, actor, None)


def _require_verified(ticket: Ticket) -> None:
    if ticket.state not in selectors.FULFILMENT_STATES:
        raise services.TransitionNotAllowedError(
            _("Personal data is looked up and released or erased only while the ticket is verified "
              "(identity checked) and not yet processed."))


def _sources() -> tuple[SourceConfig, ...]:
    try:
        sources = configured_sources()
    except ValueError as exc:
        raise services.GuardError({"sources": str(exc)}) from exc
    if not sources:
        raise services.GuardError({"sources": _("No data sources are configured (DESK_DATA_SOURCES).")})
    return sources


# --- Lookup --------------------------------------------------------------------------------------
@transaction.atomic
def start_lookup(*, ticket: Ticket, actor: User) -> DataLookup:
    """Queue a search of every configured source for the requester's address."""
    locked = _lock(ticket, actor)
    _require_verified(locked)
    sources = _sources()
    running = DataLookup.objects.filter(ticket=locked, status__in=[LookupStatus.QUEUED, LookupStatus.RUNNING])
    # One whose worker died long ago is closed as failed, so it never blocks the ticket.
    running.filter(created_at__lt=timezone.now() - STALE_AFTER).update(status=LookupStatus.FAILED,
                                                                       finished_at=timezone.now())
    if running.exists():
        raise services.ConflictError(_("A lookup is already running for this ticket."))
    lookup = DataLookup.objects.create(ticket=locked, requested_by=actor, email=locked.requester.email,
                                       sources_total=len(sources))
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.lookup_started",
                       data={"lookup": lookup.pk, "sources": [s.name for s in sources]})
    _enqueue(LOOKUP_TASK, lookup.pk, False)
    return lookup


@transaction.atomic
def retry_lookup(*, lookup: DataLookup, actor: User) -> DataLookup:
    """Ask the sources that failed again; the ones that answered keep their answer."""
    locked_ticket = _lock(lookup.ticket, actor)
    _require_verified(locked_ticket)
    row = DataLookup.objects.select_for_update().get(pk=lookup.pk)
    if row.status not in (LookupStatus.PARTIAL, LookupStatus.FAILED):
        raise services.ConflictError(_("Only a lookup where a source failed can be retried."))
    row.status, row.sources_done = LookupStatus.QUEUED, row.sources_total - len(row.failed_sources)
    row.save(update_fields=["status", "sources_done"])
    audit.record_event(ticket=locked_ticket, actor=actor, action="fulfilment.lookup_retried",
                       data={"lookup": row.pk, "sources": row.failed_sources})
    _enqueue(LOOKUP_TASK, row.pk, True)
    return row


def run_lookup(lookup_pk: int, *, only_failed: bool = False) -> DataLookup:
    """The task's body: each source in turn, the row updated after each one (progress)."""
    with transaction.atomic():
        lookup = DataLookup.objects.select_for_update().get(pk=lookup_pk)
        if lookup.status not in (LookupStatus.QUEUED, LookupStatus.RUNNING):
            return lookup  # a redelivered task for a finished lookup
        lookup.status, lookup.started_at = LookupStatus.RUNNING, lookup.started_at or timezone.now()
        lookup.save(update_fields=["status", "started_at"])
    sources = configured_sources()
    previous = {s["name"]: s for s in lookup.sources}
    todo = [s for s in sources if not (only_failed and previous.get(s.name) and not previous[s.name].get("error"))]
    for source in todo:
        answer = lookup_source(source, lookup.email)  # outside any transaction: it may be slow
        with transaction.atomic():
            row = DataLookup.objects.select_for_update().get(pk=lookup_pk)
            by_name = {s["name"]: s for s in row.sources}
            by_name[source.name] = answer
            # Keep the configured order; sources removed from the file since drop out.
            row.result = {"sources": [by_name[s.name] for s in sources if s.name in by_name]}
            row.sources_done = min(row.sources_total, row.sources_done + 1)
            row.save(update_fields=["result", "sources_done"])
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=lookup.ticket_id)
        row = DataLookup.objects.select_for_update().get(pk=lookup_pk)
        failed = row.failed_sources
        row.status = (LookupStatus.DONE if not failed else
                      LookupStatus.FAILED if len(failed) == len(row.sources) else LookupStatus.PARTIAL)
        row.sources_total = row.sources_done = len(row.sources)
        row.finished_at = timezone.now()
        row.save(update_fields=["status", "sources_total", "sources_done", "finished_at"])
        audit.record_event(ticket=ticket, actor=None, actor_name="fulfilment", action="fulfilment.lookup_finished",
                           data={"lookup": row.pk, "status": row.status, "failed": failed, "found": {
                               s["name"]: {t["name"]: len(t["records"]) for t in s["tables"]} for s in row.sources}})
    return row


def _complete_lookup(ticket: Ticket) -> DataLookup:
    lookup = selectors.latest_lookup(ticket)
    if lookup is None or lookup.is_running:
        raise services.GuardError({"lookup": _("Look up the requester's personal data first.")})
    if not lookup.is_complete:
        raise services.GuardError({"lookup": _("Some sources failed (%(names)s): retry them first, so nothing "
                                                "is missed.") % {"names": ", ".join(lookup.failed_sources)}})
    return lookup


# --- Access package ------------------------------------------------------------------------------
def _csv(records: list[dict[str, Any]]) -> bytes:
    columns: list[str] = []
    for record in records:
        columns += [key for key in record if key not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                         for k, v in record.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Korean CSV correctly


def package_bytes(ticket: Ticket, lookup: DataLookup, generated_at: Any) -> tuple[bytes, dict[str, Any]]:
    """The ZIP: data.json (everything), one CSV per table, summary.html (Korean and English)."""
    tables = []
    files = ["data.json", "summary.html"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in lookup.sources:
            for table in source["tables"]:
                if not table["records"]:
                    continue
                name = f"{source['name']}/{table['name']}.csv"
                archive.writestr(name, _csv(table["records"]))
                files.append(name)
                tables.append({"source": source["name"], "table": table["name"], "records": len(table["records"]),
                               "file": name})
        document = {"reference": ticket.reference, "email": lookup.email,
                    "generated_at": generated_at.isoformat(), "sources": lookup.sources}
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        archive.writestr("summary.html", render_to_string("fulfilment/package_summary.html", {
            "ticket": ticket, "lookup": lookup, "generated_at": generated_at, "languages": ("ko", "en"),
            "sources": lookup.sources, "tables": tables,
        }))
    return buffer.getvalue(), {"tables": tables, "files": files}


def build_access_package(*, ticket: Ticket, actor: User) -> AccessPackage:
    """Build the package from the latest complete lookup, for the administrator to review."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            return _build_access_package(ticket, actor, stored)
    except BaseException:
        for name in stored:  # the row naming the file was rolled back: the file goes too
            default_storage.delete(name)
        raise


def _build_access_package(ticket: Ticket, actor: User, stored: list[str]) -> AccessPackage:
    locked = _lock(ticket, actor)
    _require_verified(locked)
    if locked.request_type not in selectors.ACCESS_TYPES:
        raise services.GuardError({"package": _("Only access requests get an access package.")})
    lookup = _complete_lookup(locked)
    now = timezone.now()
    data, contents = package_bytes(locked, lookup, now)
    # An unreleased draft is replaced, never kept around (its file goes with it: signals.py).
    AccessPackage.objects.filter(ticket=locked, status=PackageStatus.DRAFT).delete()
    package = AccessPackage(ticket=locked, lookup=lookup, built_by=actor, built_at=now, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), contents=contents)
    package.file.save(f"{locked.reference}-{now:%Y%m%d%H%M%S}.zip", ContentFile(data), save=False)
    stored.append(str(package.file.name))
    package.save()
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.package_built",
                       data={"package": package.pk, "lookup": lookup.pk, "sha256": package.sha256,
                             "tables": contents["tables"]})
    return package


@transaction.atomic
def release_access_package(*, package: AccessPackage, actor: User) -> AccessPackage:
    """Make the reviewed package downloadable from the status page and tell the requester."""
    locked = _lock(package.ticket, actor)
    _require_verified(locked)
    row = AccessPackage.objects.select_for_update().get(pk=package.pk)
    if row.status != PackageStatus.DRAFT:
        raise services.ConflictError(_("This package was already released."))
    now = timezone.now()
    row.status, row.released_by, row.released_at = PackageStatus.RELEASED, actor, now
    row.expires_at = now + timedelta(days=settings.DESK_ACCESS_PACKAGE_DAYS)
    row.save(update_fields=["status", "released_by", "released_at", "expires_at"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.package_released",
                       data={"package": row.pk, "sha256": row.sha256, "files": row.contents.get("files", []),
                             "tables": row.contents.get("tables", []), "expires_at": row.expires_at.isoformat()})
    body = render_bilingual("access_package_ready", {"ticket": locked, "package": row,
                                                     "lost_link_url": desk_base_url() + "/lost-link/"},
                            primary=locked.requester.language)
    services.send_reply(ticket=locked, author=actor, body_text=body)
    return row


@transaction.atomic
def record_package_download(*, package: AccessPackage) -> None:
    """The requester downloaded their copy: counted and in the ticket's audit trail."""
    ticket = Ticket.objects.select_for_update().select_related("requester").get(pk=package.ticket_id)
    row = AccessPackage.objects.select_for_update().get(pk=package.pk)
    row.download_count += 1
    row.last_downloaded_at = timezone.now()
    row.save(update_fields=["download_count", "last_downloaded_at"])
    audit.record_event(ticket=ticket, actor=None, actor_name=f"requester <{ticket.requester.email}>",
                       action="fulfilment.package_downloaded", data={"package": row.pk, "sha256": row.sha256})


# --- Erasure -------------------------------------------------------------------------------------
def _step_action(table: dict[str, Any], request_type: str) -> str:
    """Consent withdrawal only changes "set" tables (e.g. the marketing opt-in); others leave data as is."""
    if request_type == "consent_withdrawal" and table["erase"] != "set":
        return "none"
    return str(table["erase"])


@transaction.atomic
def preview_erasure(*, ticket: Ticket, actor: User) -> ErasurePlan:
    """From the latest complete lookup: per table what goes, what is anonymised and what is kept, and why."""
    locked = _lock(ticket, actor)
    _require_verified(locked)
    if locked.request_type not in selectors.ERASE_TYPES:
        raise services.GuardError({"erasure": _("Only deletion and withdrawal requests erase data.")})
    if ErasurePlan.objects.filter(ticket=locked).exclude(status=ErasureStatus.PREVIEWED).exists():
        raise services.ConflictError(_("An erasure was already approved for this ticket; retry its failed tables "
                                       "instead."))
    lookup = _complete_lookup(locked)
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
    locked = _lock(plan.ticket, actor)
    _require_verified(locked)
    row = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
    if row.status != ErasureStatus.PREVIEWED:
        raise services.ConflictError(_("This erasure was already approved."))
    row.status, row.approved_by, row.approved_at = ErasureStatus.APPROVED, actor, timezone.now()
    row.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_approved", data={"plan": row.pk})
    _enqueue(ERASURE_TASK, row.pk)
    return row


@transaction.atomic
def retry_erasure(*, plan: ErasurePlan, actor: User) -> ErasurePlan:
    """Run the tables that failed again; done tables are never touched twice."""
    locked = _lock(plan.ticket, actor)
    _require_verified(locked)
    row = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
    if row.status != ErasureStatus.PARTIAL and not row.is_stale:
        raise services.ConflictError(_("Only an erasure where a table failed can be retried."))
    row.status = ErasureStatus.APPROVED
    row.save(update_fields=["status"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.erasure_retried", data={
        "plan": row.pk, "steps": [f"{s.source}.{s.table}" for s in row.steps.filter(status=StepStatus.FAILED)]})
    _enqueue(ERASURE_TASK, row.pk)
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
        lookup.result = {"sources": [
            {**source, "tables": [{**{k: v for k, v in table.items() if k != "records"}, "records": [],
                                   "count": table.get("count", len(table.get("records", []))), "redacted": True}
                                  for table in source.get("tables", [])]}
            for source in lookup.sources]}
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
    locked = _lock(plan.ticket, actor)
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


# --- By hand -------------------------------------------------------------------------------------
@transaction.atomic
def record_manual_fulfilment(*, ticket: Ticket, actor: User, reason: str) -> ManualFulfilment:
    """The request was carried out outside the desk's connectors; the reason is on the record."""
    locked = _lock(ticket, actor)
    if len(reason.strip()) < 10:
        raise services.GuardError({"reason": _("Write why the request was carried out by hand (at least a "
                                                "sentence).")})
    row = ManualFulfilment.objects.create(ticket=locked, reason=reason.strip(), recorded_by=actor)
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.done_by_hand",
                       data={"reason": row.reason[:2000]})
    return row
