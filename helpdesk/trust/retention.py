"""Retention: delete what the privacy policy says we no longer keep, and keep only anonymous figures.

The period of a ticket runs from its closure (``closed_at``); open tickets and tickets under
``legal_hold`` are never purged. A purge deletes, per ticket: its messages, attachments and raw
mail (files overwritten and removed from storage), its notification records, its audit chain
(allowed through the transaction-local ``privacy_desk.allow_audit_purge`` setting, see
docs/trust.md) and its requester when no other ticket is left; before that, the ticket is counted
into :class:`~helpdesk.models.TicketStatistic` so managers' historical figures survive.

Work runs in batches, each its own transaction, with ``select_for_update(skip_locked=True)``, so
two purges (or a purge and a person working a ticket) never block or double-count each other.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.files.storage import Storage
from django.db import ProgrammingError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from helpdesk.models import (
    Attachment,
    AuditEvent,
    Message,
    Quarantine,
    QuarantineStatus,
    Requester,
    RetentionCategory,
    RetentionPolicy,
    Ticket,
    TicketStatistic,
)
from helpdesk.trust import audit
from helpdesk.trust.destroy import destroy_after_commit
from workflows.calendar import local_date
from workflows.request_types import RequestType
from workflows.states import CLOSED_STATES, TicketState

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200

# Which policy category a ticket's record falls under (docs/trust.md explains each choice).
REQUEST_TYPE_CATEGORY: dict[str, str] = {
    # A complaint, and every exercise of a PIPA right (access, correction, deletion, suspension),
    # is a consumer's complaint about how we handle their data: its handling is the record.
    RequestType.COMPLAINT: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.ACCESS: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.CORRECTION: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.DELETION: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.SUSPENSION: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.AUTOMATED_REFUSAL: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.AUTOMATED_EXPLANATION: RetentionCategory.COMPLAINT_DISPUTE,
    RequestType.AUTOMATED_REVIEW: RetentionCategory.COMPLAINT_DISPUTE,
    # Withdrawing consent or membership ends (part of) a contract with us.
    RequestType.CONSENT_WITHDRAWAL: RetentionCategory.CONTRACT_WITHDRAWAL,
    RequestType.MEMBERSHIP_WITHDRAWAL: RetentionCategory.CONTRACT_WITHDRAWAL,
    # Questions: no statute requires keeping them.
    RequestType.INQUIRY: RetentionCategory.GENERAL_INQUIRY,
    RequestType.OTHER: RetentionCategory.GENERAL_INQUIRY,
}

# Used when a policy row is missing (never deleted in practice; the migration creates them).
FALLBACK_MONTHS: dict[str, int] = {
    RetentionCategory.COMPLAINT_DISPUTE: 36,
    RetentionCategory.CONTRACT_WITHDRAWAL: 60,
    RetentionCategory.PAYMENT_SUPPLY: 60,
    RetentionCategory.DISPLAY_ADVERTISEMENT: 6,
    RetentionCategory.GENERAL_INQUIRY: 36,
    RetentionCategory.WEBSITE_VISIT: 3,
    RetentionCategory.UNFILED_MAIL: 3,
}


def category_for(request_type: str) -> str:
    return REQUEST_TYPE_CATEGORY.get(request_type, RetentionCategory.GENERAL_INQUIRY)


def policies() -> dict[str, RetentionPolicy]:
    found = {p.category: p for p in RetentionPolicy.objects.all()}
    for category, months in FALLBACK_MONTHS.items():
        found.setdefault(category, RetentionPolicy(category=category, months=months))
    return found


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` calendar months earlier (day clamped to the month end)."""
    total = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    next_month_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def keep_until(ticket: Ticket, policy_map: dict[str, RetentionPolicy] | None = None) -> datetime | None:
    """When a closed ticket's retention period ends (None while it is open)."""
    if ticket.closed_at is None:
        return None
    policy = (policy_map or policies())[category_for(ticket.request_type)]
    # Adding months: the inverse of months_before.
    return months_before(ticket.closed_at, -policy.months)


def expired_tickets(now: datetime | None = None) -> QuerySet[Ticket]:
    """Closed, not held, and closed longer ago than their category's period."""
    now = now or timezone.now()
    policy_map = policies()
    by_category: dict[str, list[str]] = {}
    for request_type, category in REQUEST_TYPE_CATEGORY.items():
        by_category.setdefault(category, []).append(request_type)
    known = list(REQUEST_TYPE_CATEGORY)
    condition = Q()
    for category, types in by_category.items():
        cutoff = months_before(now, policy_map[category].months)
        condition |= Q(request_type__in=types, closed_at__lt=cutoff)
    general_cutoff = months_before(now, policy_map[RetentionCategory.GENERAL_INQUIRY].months)
    condition |= Q(closed_at__lt=general_cutoff) & ~Q(request_type__in=known)
    # A merged duplicate stays while the ticket it went into does (its messages are there, and their
    # ``merged_from`` keeps another requester's messages off that ticket's status page; issue 26).
    return Ticket.objects.filter(condition, state__in=CLOSED_STATES, closed_at__isnull=False, legal_hold=False,
                                 merged_into__isnull=True)


# --- The audit chain of a purged ticket -----------------------------------------------------
def delete_audit_chains(ticket_ids: list[int]) -> int:
    """Delete the audit rows of tickets being purged; the PostgreSQL trigger allows it only here."""
    if not ticket_ids:
        return 0
    placeholders = ", ".join(["%s"] * len(ticket_ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('privacy_desk.allow_audit_purge', 'on', true)")
        try:
            cursor.execute(f"DELETE FROM helpdesk_auditevent WHERE ticket_id IN ({placeholders})",  # noqa: S608
                           ticket_ids)
            deleted = cursor.rowcount
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('privacy_desk.allow_audit_purge', 'off', true)")
    return deleted


# --- Anonymous figures ------------------------------------------------------------------------
def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def record_statistics(tickets: Iterable[Ticket]) -> int:
    """Add tickets about to be deleted to the monthly counters. Runs in the purge's transaction."""
    buckets: dict[tuple[date, str, str], Counter[str]] = {}
    for ticket in tickets:
        key = (local_date(ticket.received_at).replace(day=1), ticket.request_type, ticket.channel)
        counts = buckets.setdefault(key, Counter())
        counts["received"] += 1
        answered = ticket.state in (TicketState.RESPONDED, TicketState.REJECTED) and ticket.responded_at
        if answered:
            counts["responded"] += 1
            if ticket.responded_at and ticket.responded_at <= ticket.due_at:
                counts["on_time"] += 1
            resolution = ticket.resolution_seconds
            if resolution is None:
                resolution = _seconds(ticket.received_at, ticket.responded_at)
            if resolution is not None:
                counts["resolution_count"] += 1
                counts["resolution_seconds"] += resolution
                counts["active_seconds"] += ticket.active_seconds if ticket.active_seconds is not None \
                    else resolution
        if ticket.state == TicketState.REJECTED:
            counts["rejected"] += 1
        if ticket.state == TicketState.WITHDRAWN:
            counts["withdrawn"] += 1
        first = _seconds(ticket.received_at, ticket.first_response_at)
        if first is not None:
            counts["first_response_count"] += 1
            counts["first_response_seconds"] += first
    for (month, request_type, channel), counts in buckets.items():
        # Insert-if-missing then increment: safe when two purges touch the same bucket.
        TicketStatistic.objects.bulk_create(
            [TicketStatistic(month=month, request_type=request_type, channel=channel)], ignore_conflicts=True
        )
        TicketStatistic.objects.filter(month=month, request_type=request_type, channel=channel).update(
            **{name: F(name) + value for name, value in counts.items()}
        )
    return len(buckets)


# --- Purging tickets --------------------------------------------------------------------------
@dataclass
class PurgeReport:
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    references: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": dict(sorted(self.counts.items()))}


def _ticket_files(ticket_ids: list[int]) -> tuple[list[tuple[Storage, str]], Counter[str]]:
    files: list[tuple[Storage, str]] = []
    counts: Counter[str] = Counter()
    for attachment in Attachment.objects.filter(message__ticket_id__in=ticket_ids).only("file"):
        counts["attachments"] += 1
        if attachment.file.name:
            files.append((attachment.file.storage, attachment.file.name))
    for message in Message.objects.filter(ticket_id__in=ticket_ids).only("raw_message"):
        counts["messages"] += 1
        if message.raw_message.name:
            counts["raw_mails"] += 1
            files.append((message.raw_message.storage, message.raw_message.name))
    return files, counts


def delete_tickets(tickets: list[Ticket], *, reason: str, actor: Any = None) -> Counter[str]:
    """Count, then delete tickets with everything hanging off them. Caller holds the row locks
    inside a transaction."""
    counts: Counter[str] = Counter()
    if not tickets:
        return counts
    ids = [t.pk for t in tickets]
    requester_ids = {t.requester_id for t in tickets}
    record_statistics(tickets)
    for ticket in tickets:
        counts[f"tickets.{category_for(ticket.request_type)}"] += 1
    counts["tickets"] += len(tickets)
    files, file_counts = _ticket_files(ids)
    counts.update(file_counts)
    heads: dict[str, str] = {}
    for reference, event_hash in AuditEvent.objects.filter(ticket_id__in=ids).order_by("ticket_id", "seq") \
            .values_list("ticket_reference", "hash"):
        heads[reference] = event_hash  # ascending seq: the last one written wins
    counts["audit_events"] += delete_audit_chains(ids)
    Ticket.objects.filter(pk__in=ids).delete()
    counts["requesters"] += delete_orphan_requesters(requester_ids)
    # A tombstone in the desk-wide chain: which chains went, why, and their last hash.
    audit.record_event(
        ticket=None, actor=actor, action=f"{reason}.purged",
        data={"references": sorted(t.reference for t in tickets), "chain_heads": heads,
              "audit_events": counts["audit_events"]},
    )
    destroy_after_commit(files)
    counts["files"] += len(files)
    return counts


def delete_orphan_requesters(requester_ids: Iterable[int]) -> int:
    """Requesters with no ticket left have no purpose any more: their row goes too."""
    deleted = 0
    for requester in Requester.objects.filter(pk__in=list(requester_ids), tickets__isnull=True):
        try:
            with transaction.atomic():
                requester.delete()
                deleted += 1
        except ProtectedError:  # another package still refers to them; leave it to that package
            logger.warning("requester kept: still referenced", extra={"requester": requester.pk})
    return deleted


def _batches(queryset: QuerySet[Ticket], batch_size: int) -> Iterator[list[int]]:
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        yield ids[start:start + batch_size]


def purge_expired_tickets(*, now: datetime | None = None, dry_run: bool = False,
                          batch_size: int = DEFAULT_BATCH_SIZE) -> PurgeReport:
    now = now or timezone.now()
    report = PurgeReport(dry_run=dry_run)
    candidates = expired_tickets(now)
    if dry_run:
        ids = list(candidates.values_list("pk", flat=True))
        for request_type in candidates.values_list("request_type", flat=True):
            report.counts[f"tickets.{category_for(request_type)}"] += 1
        report.counts["tickets"] += len(ids)
        _files, file_counts = _ticket_files(ids)
        report.counts.update(file_counts)
        report.counts["audit_events"] += AuditEvent.objects.filter(ticket_id__in=ids).count()
        return report
    for batch in _batches(candidates, batch_size):
        with transaction.atomic():
            lock = Ticket.objects.filter(pk__in=batch)
            if connection.features.has_select_for_update_skip_locked:
                lock = lock.select_for_update(skip_locked=True)
            # Re-check under the lock: a ticket reopened or put on hold meanwhile stays.
            locked = list(expired_tickets(now).filter(pk__in=[t.pk for t in lock]))
            report.counts.update(delete_tickets(locked, reason="retention"))
            report.references.extend(t.reference for t in locked)
    return report


def purge_quarantine(*, now: datetime, dry_run: bool, batch_size: int) -> Counter[str]:
    """Unfiled mail a person has dealt with goes after its period; pending mail waits for review."""
    cutoff = months_before(now, policies()[RetentionCategory.UNFILED_MAIL].months)
    expired = Quarantine.objects.exclude(status=QuarantineStatus.PENDING).filter(
        Q(resolved_at__lt=cutoff) | Q(resolved_at__isnull=True, received_at__lt=cutoff)
    )
    counts: Counter[str] = Counter()
    if dry_run:
        counts["quarantine"] = expired.count()
        return counts
    ids = list(expired.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            rows = list(Quarantine.objects.filter(pk__in=ids[start:start + batch_size]))
            destroy_after_commit((row.raw_message.storage, row.raw_message.name) for row in rows)
            Quarantine.objects.filter(pk__in=[row.pk for row in rows]).delete()
            counts["quarantine"] += len(rows)
            counts["files"] += sum(1 for row in rows if row.raw_message.name)
    return counts


def purge_website_visits(*, now: datetime, dry_run: bool) -> Counter[str]:
    """Sign-in records (django-axes) and expired sessions: "records of website visits"."""
    cutoff = months_before(now, policies()[RetentionCategory.WEBSITE_VISIT].months)
    counts: Counter[str] = Counter()
    querysets: list[tuple[str, QuerySet[Any]]] = [("sessions", Session.objects.filter(expire_date__lt=now))]
    querysets += [
        ("sign_in_records", AccessLog.objects.filter(attempt_time__lt=cutoff)),
        ("sign_in_records", AccessAttempt.objects.filter(attempt_time__lt=cutoff)),
        ("sign_in_records", AccessFailureLog.objects.filter(attempt_time__lt=cutoff)),
    ]
    for name, queryset in querysets:
        try:
            counts[name] += queryset.count() if dry_run else queryset.delete()[0]
        except ProgrammingError:  # table not migrated in this deployment
            continue
    return counts


def purge_expired(*, now: datetime | None = None, dry_run: bool = False,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> PurgeReport:
    """Everything past its period: tickets, unfiled mail, visit records. Logs one line per category."""
    now = now or timezone.now()
    report = purge_expired_tickets(now=now, dry_run=dry_run, batch_size=batch_size)
    report.counts.update(purge_quarantine(now=now, dry_run=dry_run, batch_size=batch_size))
    report.counts.update(purge_website_visits(now=now, dry_run=dry_run))
    for category, count in sorted(report.counts.items()):
        logger.info("retention purge %s: %s", category, count,
                    extra={"category": category, "count": count, "dry_run": dry_run})
    return report


@shared_task(name="helpdesk.trust.retention.purge_expired")
def purge_expired_task() -> dict[str, Any]:
    """Daily (Celery beat). Safe to run twice at once: rows are locked with SKIP LOCKED."""
    return purge_expired().as_dict()
