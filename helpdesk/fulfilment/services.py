"""Writes for fulfilment: look up, build and release the access package (erasure: :mod:`.erasure`).

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
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import services
from helpdesk.base_url import desk_base_url
from helpdesk.fulfilment import selectors, summary
from helpdesk.fulfilment.common import (
    LOOKUP_TASK,
    complete_lookup,
    data_sources,
    enqueue_after_commit,
    four_eyes_record,
    lock_ticket_for,
    require_second_person,
    require_verified,
)
from helpdesk.fulfilment.config import ConfigError, configured_sources
from helpdesk.fulfilment.connectors import lookup_source
from helpdesk.fulfilment.models import (
    STALE_AFTER,
    AccessPackage,
    DataLookup,
    LookupStatus,
    ManualFulfilment,
    PackageStatus,
)
from helpdesk.fulfilment.records import record_grid
from helpdesk.fulfilment.register import Processing, entries_for, load_register
from helpdesk.metrics.cells import safe_row
from helpdesk.models import Ticket, User
from helpdesk.trust import audit
from notifications.mail import render_bilingual

__all__ = [
    "build_access_package", "package_bytes", "record_manual_fulfilment", "record_package_download",
    "release_access_package", "retry_lookup", "run_lookup", "start_lookup",
]


# --- Lookup --------------------------------------------------------------------------------------
@transaction.atomic
def start_lookup(*, ticket: Ticket, actor: User) -> DataLookup:
    """Queue a search of every configured source for the requester's address."""
    locked = lock_ticket_for(ticket, actor)
    require_verified(locked)
    sources = data_sources()
    running = DataLookup.objects.filter(ticket=locked, status__in=[LookupStatus.QUEUED, LookupStatus.RUNNING])
    # One whose worker died long ago is closed as failed, so it never blocks the ticket.
    running.filter(created_at__lt=timezone.now() - STALE_AFTER).update(status=LookupStatus.FAILED,
                                                                       finished_at=timezone.now())
    if running.exists():
        raise services.ConflictError(_("A lookup is already running for this ticket."))
    lookup = DataLookup.objects.create(ticket=locked, requested_by=actor, email=locked.requester.email or "",
                                       sources_total=len(sources))
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.lookup_started",
                       data={"lookup": lookup.pk, "sources": [s.name for s in sources]})
    enqueue_after_commit(LOOKUP_TASK, lookup.pk, False)
    return lookup


@transaction.atomic
def retry_lookup(*, lookup: DataLookup, actor: User) -> DataLookup:
    """Ask the sources that failed again; the ones that answered keep their answer."""
    locked_ticket = lock_ticket_for(lookup.ticket, actor)
    require_verified(locked_ticket)
    row = DataLookup.objects.select_for_update().get(pk=lookup.pk)
    if row.status not in (LookupStatus.PARTIAL, LookupStatus.FAILED):
        raise services.ConflictError(_("Only a lookup where a source failed can be retried."))
    row.status, row.sources_done = LookupStatus.QUEUED, row.sources_total - len(row.failed_sources)
    row.save(update_fields=["status", "sources_done"])
    audit.record_event(ticket=locked_ticket, actor=actor, action="fulfilment.lookup_retried",
                       data={"lookup": row.pk, "sources": row.failed_sources})
    enqueue_after_commit(LOOKUP_TASK, row.pk, True)
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


# --- Access package ------------------------------------------------------------------------------
def _csv(records: list[dict[str, Any]]) -> bytes:
    """One table as CSV: the company's data is untrusted text, so no cell or header can be a formula."""
    grid = record_grid(records)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row(grid.columns))
    writer.writerows(safe_row(row) for row in grid.values(flatten=True))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Korean CSV correctly


_UNSAFE_IN_ENTRY = re.compile(r"[^A-Za-z0-9_.-]")


def _entry_part(name: str) -> str:
    """One path segment of a ZIP entry: no separator, no leading dot (so never ``..``), never empty.
    The configuration already refuses such names; a package built from an older lookup is checked too."""
    return _UNSAFE_IN_ENTRY.sub("_", str(name)).lstrip(".")[:63] or "_"


def package_bytes(ticket: Ticket, lookup: DataLookup, generated_at: Any) -> tuple[bytes, dict[str, Any]]:
    """The ZIP: data.json (everything), one CSV per table, summary.html (Korean and English).

    Both also carry the processing register's entries that concern this requester (Decree 41(1)
    2-5: purposes, retention, third parties, processors, consent)."""
    tables = []
    files = ["data.json", "summary.html"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in lookup.sources:
            for table in source["tables"]:
                if not table["records"]:
                    continue
                name = f"{_entry_part(source['name'])}/{_entry_part(table['name'])}.csv"
                while name in files:  # two names that were made safe alike
                    name = name.removesuffix(".csv") + "_.csv"
                archive.writestr(name, _csv(table["records"]))
                files.append(name)
                tables.append({"source": source["name"], "table": table["name"], "records": len(table["records"]),
                               "file": name})
        processing = register_entries({f"{t['source']}.{t['table']}" for t in tables})
        words = summary.presentation(configured_sources())  # labels, descriptions, keep reasons: kept as built
        document = {"reference": ticket.reference, "email": lookup.email,
                    "generated_at": generated_at.isoformat(), "sources": lookup.sources,
                    "processing": [entry_document(entry) for entry in processing]}
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        archive.writestr("summary.html", render_to_string("fulfilment/package_summary.html", {
            **summary.summary_context(ticket=ticket, email=lookup.email, sources=lookup.sources, words=words,
                                      generated_at=generated_at, processing=processing, languages=("ko", "en")),
            "inline_css": summary_css(),
        }))
    return buffer.getvalue(), {"tables": tables, "files": files, "processing": document["processing"],
                               "presentation": words}


def summary_css() -> str:
    """The summary's style sheet, inlined into summary.html (a file opened on its own has no /static/)."""
    path = finders.find("fulfilment/summary.css")
    return Path(str(path)).read_text(encoding="utf-8") if path else ""


def register_entries(found_tables: set[str]) -> list[Processing]:
    """The register's entries for a requester found in these tables; a broken register is a clear error."""
    try:
        known = {source.name for source in configured_sources()}
        return entries_for(found_tables, load_register(known_sources=known or None))
    except ConfigError as exc:
        raise services.GuardError({"register": str(exc)}) from exc


def entry_document(entry: Processing) -> dict[str, Any]:
    return {"name": entry.name, "policy_section": entry.policy_section, "lines": entry.lines()}


def build_access_package(*, ticket: Ticket, actor: User) -> AccessPackage:
    """Build the package from the latest complete lookup, for the administrator to review."""
    with services.atomic_removing_files():  # a rolled-back package leaves no file behind
        return _build_access_package(ticket, actor)


def _build_access_package(ticket: Ticket, actor: User) -> AccessPackage:
    locked = lock_ticket_for(ticket, actor)
    require_verified(locked)
    if locked.request_type not in selectors.ACCESS_TYPES:
        raise services.GuardError({"package": _("Only access requests get an access package.")})
    lookup = complete_lookup(locked)
    now = timezone.now()
    data, contents = package_bytes(locked, lookup, now)
    # An unreleased draft is replaced, never kept around (its file goes with it: signals.py).
    AccessPackage.objects.filter(ticket=locked, status=PackageStatus.DRAFT).delete()
    package = AccessPackage(ticket=locked, lookup=lookup, built_by=actor, built_at=now, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), contents=contents)
    package.file.save(f"{locked.reference}-{now:%Y%m%d%H%M%S}.zip", ContentFile(data), save=False)
    services.remember_file(package.file)
    package.save()
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.package_built",
                       data={"package": package.pk, "lookup": lookup.pk, "sha256": package.sha256,
                             "tables": contents["tables"]})
    return package


@transaction.atomic
def release_access_package(*, package: AccessPackage, actor: User) -> AccessPackage:
    """Make the reviewed package downloadable from the status page and tell the requester."""
    locked = lock_ticket_for(package.ticket, actor)
    require_verified(locked)
    row = AccessPackage.objects.select_for_update().get(pk=package.pk)
    if row.status != PackageStatus.DRAFT:
        raise services.ConflictError(_("This package was already released."))
    require_second_person(row.built_by, actor, _(
        "Four eyes: you built this package, so another member of staff must release it."))
    now = timezone.now()
    row.status, row.released_by, row.released_at = PackageStatus.RELEASED, actor, now
    row.expires_at = now + timedelta(days=settings.DESK_ACCESS_PACKAGE_DAYS)
    row.save(update_fields=["status", "released_by", "released_at", "expires_at"])
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.package_released",
                       data={"package": row.pk, "sha256": row.sha256, "files": row.contents.get("files", []),
                             "tables": row.contents.get("tables", []), "expires_at": row.expires_at.isoformat(),
                             **four_eyes_record(row.built_by, actor)})
    body = render_bilingual("access_package_ready", {"ticket": locked, "package": row,
                                                     "requester_name": locked.name_for_mail(),
                                                     "lost_link_url": desk_base_url() + "/lost-link/"},
                            primary=locked.requester.language)
    services.send_reply(ticket=locked, author=actor, body_text=body)
    return row


@transaction.atomic
def record_package_download(*, package: AccessPackage, viewed: bool = False) -> None:
    """The requester downloaded their copy (or read its summary on the status page, ``viewed``):
    counted and in the ticket's audit trail."""
    ticket = Ticket.objects.select_for_update().select_related("requester").get(pk=package.ticket_id)
    row = AccessPackage.objects.select_for_update().get(pk=package.pk)
    row.download_count += 1
    row.last_downloaded_at = timezone.now()
    row.save(update_fields=["download_count", "last_downloaded_at"])
    action = "fulfilment.package_viewed" if viewed else "fulfilment.package_downloaded"
    audit.record_event(ticket=ticket, actor=None, actor_name=f"requester <{ticket.requester.email}>",
                       action=action, data={"package": row.pk, "sha256": row.sha256})


# --- By hand -------------------------------------------------------------------------------------
@transaction.atomic
def record_manual_fulfilment(*, ticket: Ticket, actor: User, reason: str) -> ManualFulfilment:
    """The request was carried out outside the desk's connectors; the reason is on the record."""
    locked = lock_ticket_for(ticket, actor)
    if len(reason.strip()) < 10:
        raise services.GuardError({"reason": _("Write why the request was carried out by hand (at least a "
                                                "sentence).")})
    row = ManualFulfilment.objects.create(ticket=locked, reason=reason.strip(), recorded_by=actor)
    audit.record_event(ticket=locked, actor=actor, action="fulfilment.done_by_hand",
                       data={"reason": row.reason[:2000]})
    return row
