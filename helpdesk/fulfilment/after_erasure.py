"""After an erasure the desk keeps no copy of what was erased — on any of the requester's tickets.

An erasure at the sources (``fulfilment.erasure.run_erasure``) or of the desk's own records
(``helpdesk.trust.erasure``, announced as ``erasure.performed`` on the audit signal) ends here:
on every ticket of that requester, older ones included, the lookups keep only counts per table,
unreleased packages are deleted and released ones are withdrawn (status, expiry now, file
overwritten and deleted), so no status link can still download the erased data.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpdesk.fulfilment.models import AccessPackage, DataLookup, PackageStatus
from helpdesk.fulfilment.shapes import LookupResult
from helpdesk.models import AuditEvent, Ticket
from helpdesk.trust import audit
from helpdesk.trust.destroy import destroy_stored_file

__all__ = ["forget_requester_copies", "on_ticket_events", "redact_lookups"]


def redact_lookups(ticket: Ticket) -> int:
    """The ticket's lookups keep only what was found per table (counts), never the records."""
    redacted = 0
    for lookup in DataLookup.objects.select_for_update().filter(ticket=ticket):
        if all(table.get("redacted") for source in lookup.sources for table in source["tables"]):
            continue
        result: LookupResult = {"sources": [
            {**source, "tables": [{**table, "records": [], "count": table.get("count", len(table["records"])),
                                   "redacted": True} for table in source["tables"]]}
            for source in lookup.sources]}
        lookup.result = result
        lookup.save(update_fields=["result"])
        redacted += 1
    return redacted


def _withdraw_packages(ticket: Ticket) -> list[int]:
    withdrawn = []
    now = timezone.now()
    for package in AccessPackage.objects.select_for_update().filter(ticket=ticket).exclude(
            status=PackageStatus.WITHDRAWN):
        withdrawn.append(package.pk)
        if package.status == PackageStatus.DRAFT:
            package.delete()  # its file goes after the commit (signals.destroy_package_file)
            continue
        storage, name = package.file.storage, package.file.name
        package.status, package.file = PackageStatus.WITHDRAWN, ""
        package.expires_at = min(package.expires_at or now, now)
        package.save(update_fields=["status", "file", "expires_at"])
        transaction.on_commit(partial(destroy_stored_file, storage, name))
    return withdrawn


def forget_requester_copies(*, requester_id: int, erasure: Ticket) -> None:
    """Redact lookups and withdraw packages on every ticket of the requester (audited on each)."""
    for ticket in Ticket.objects.select_for_update().filter(requester_id=requester_id).order_by("pk"):
        lookups, packages = redact_lookups(ticket), _withdraw_packages(ticket)
        if lookups or packages:
            audit.record_event(ticket=ticket, actor=None, actor_name="fulfilment",
                               action="fulfilment.copies_withdrawn",
                               data={"erasure": erasure.reference, "lookups_redacted": lookups,
                                     "packages_withdrawn": packages})


def on_ticket_events(sender: Any, events: list[AuditEvent], **kwargs: Any) -> None:
    """Receiver of the audit signal: the desk's own erasure (``erasure.performed``) ends here too."""
    for event in events:
        if event.action == "erasure.performed" and event.ticket_id is not None:
            ticket = Ticket.objects.get(pk=event.ticket_id)
            forget_requester_copies(requester_id=ticket.requester_id, erasure=ticket)
