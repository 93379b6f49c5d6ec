"""Reads for the desk: queues with their counts, one ticket with its merged timeline.

Every function here runs a fixed number of SQL queries whatever the number of rows: related rows
come through ``select_related``/``prefetch_related`` and the queue counts are one query with
conditional aggregation. The desk's query-count tests hold us to that.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import (
    AuditEvent,
    BulkItem,
    BulkItemState,
    BulkJob,
    Direction,
    Message,
    MessageKind,
    Quarantine,
    QuarantineStatus,
    Requester,
    Ticket,
    User,
)
from workflows.calendar import local_date
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP, is_auditor, is_manager, ticket_scope
from workflows.states import OPEN_STATES, TicketState

DUE_SOON_DAYS = 3
# Audit actions already shown through their message, or too chatty for the timeline.
_TIMELINE_HIDDEN_ACTIONS = frozenset(
    {"ticket.viewed", "note.added", "reply.sent", "message.received", "message.auto_received"}
)
_SEARCH_WORD = re.compile(r"\w+", re.UNICODE)
SEARCH_FEW = 500  # matches (tickets, messages) up to which a search filters by ticket ids


# --- Queues ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueDef:
    slug: str
    label: Any


QUEUES: tuple[QueueDef, ...] = (
    QueueDef("mine", _("My open tickets")),
    QueueDef("unassigned", _("Unassigned")),
    QueueDef("due-soon", _("Due within 3 days")),
    QueueDef("overdue", _("Overdue")),
    QueueDef("awaiting", _("Awaiting requester")),
    QueueDef("all", _("All")),
)
QUEUE_SLUGS = frozenset(q.slug for q in QUEUES)
SORTS = {"due": ("due_at", "id"), "-due": ("-due_at", "-id"), "received": ("received_at", "id"),
         "-received": ("-received_at", "-id")}


def default_queue(user: Any) -> str:
    return "all" if is_manager(user) or is_auditor(user) else "mine"


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    """The tickets this user may see (:func:`workflows.roles.ticket_scope`)."""
    return Ticket.objects.filter(ticket_scope(user).q())


def _queue_q(slug: str, user: Any, now: datetime) -> Q:
    open_q = Q(state__in=OPEN_STATES)
    if slug == "mine":
        return open_q & Q(assignee_id=user.pk)
    if slug == "unassigned":
        return open_q & Q(assignee__isnull=True)
    if slug == "due-soon":
        # Clock running, not overdue, due by the end of the third day from now.
        return (Q(state__in=[s for s in OPEN_STATES if s != TicketState.AWAITING_REQUESTER])
                & Q(due_at__gte=now, due_at__lte=now + timedelta(days=DUE_SOON_DAYS)))
    if slug == "overdue":
        return Q(state__in=[s for s in OPEN_STATES if s != TicketState.AWAITING_REQUESTER]) & Q(due_at__lt=now)
    if slug == "awaiting":
        return Q(state=TicketState.AWAITING_REQUESTER)
    return Q()


def queue_counts(user: Any, now: datetime | None = None) -> dict[str, int]:
    """Every queue's size: two queries whatever the data.

    The open-ticket queues are one query with conditional aggregation over open tickets only
    (the partial index ``ticket_open_due`` finds them; closed tickets, the vast majority after
    a few years, are never read). "All" and pending quarantine come in the second query, one
    ``UNION ALL`` of counts (see :func:`_visible_total_parts`).
    """
    now = now or timezone.now()
    open_slugs = [slug for slug in QUEUE_SLUGS if slug != "all"]
    aggregates = {slug.replace("-", "_"): Count("pk", filter=_queue_q(slug, user, now)) for slug in open_slugs}
    row = visible_tickets(user).filter(state__in=OPEN_STATES).order_by().aggregate(**aggregates)
    counts = {slug: int(row[slug.replace("-", "_")] or 0) for slug in open_slugs}
    # One plain COUNT per part (a constant label, so no GROUP BY): one row each, 0 when empty.
    parts = [qs.order_by().annotate(part=Value(name)).values("part").annotate(n=Count("*"))
             for name, qs in [*_visible_total_parts(user),
                              ("quarantine", Quarantine.objects.filter(status=QuarantineStatus.PENDING))]]
    counts["all"] = counts["quarantine"] = 0
    for part in parts[0].union(*parts[1:], all=True):
        counts["quarantine" if part["part"] == "quarantine" else "all"] += int(part["n"])
    return counts


def _visible_total_parts(user: Any) -> list[tuple[str, QuerySet[Ticket]]]:
    """The user's visible tickets as disjoint parts whose counts add up to the visible total.

    An administrator sees their own tickets and the unassigned ones: counted as one ``OR`` the
    database reads the whole assignee index and filters it; counted apart, each part is one range
    of that index (half the entries read at 100k tickets). :func:`visible_tickets` stays the rule;
    ``tests/desk/test_queue_counts.py`` checks the parts against it.
    """
    scope = ticket_scope(user)
    if scope.everything:
        return [("all", Ticket.objects.all())]
    parts: list[tuple[str, QuerySet[Ticket]]] = []
    ids = sorted(pk for pk in scope.assignees if pk is not None)
    if ids:
        parts.append(("assigned", Ticket.objects.filter(assignee_id__in=ids)))
    if None in scope.assignees:
        parts.append(("unassigned", Ticket.objects.filter(assignee__isnull=True)))
    return parts or [("none", Ticket.objects.none())]


@dataclass
class QueueFilters:
    request_type: str = ""
    state: str = ""
    assignee: str = ""  # user pk, or "none"
    channel: str = ""
    search: str = ""
    sort: str = "due"

    @property
    def active(self) -> bool:
        return bool(self.request_type or self.state or self.assignee or self.channel or self.search)


def search_filter(text: str) -> Q:
    """Reference, requester (address or name), subject and message text.

    PostgreSQL: full-text search with prefix matching (Korean words carry particles, so
    "열람" must find "열람을"), served by the GIN index of migration ``desk.0003`` (which leaves out the
    acknowledgements and notices this search excludes); requesters by the trigram indexes of
    ``desk.0004``. SQLite: a plain ``icontains`` fallback.

    One query runs here: the matching ticket ids, at most ``SEARCH_FEW + 1`` rows. A search
    usually names one ticket or person (a reference, an address): then the page and its count read
    just those tickets. When many match, the filter stays a condition per ticket (each part an
    uncorrelated ``IN (subquery)``, computed once), so the queue walks its own index and stops at a
    page instead of sorting every match. Either form selects the same tickets.
    """
    text = text.strip()[:200]
    if not text:
        return Q()
    ticket_parts, messages = _search_parts(text)
    everywhere = reduce(operator.or_, ticket_parts)
    ids_parts: list[QuerySet[Any, int]] = [
        Ticket.objects.order_by().filter(part).values_list("pk", flat=True) for part in ticket_parts]
    if messages is not None:
        everywhere |= Q(pk__in=messages.values("ticket_id"))
        ids_parts.append(messages.order_by().values_list("ticket_id", flat=True))
    # UNION ALL streams part after part, so the LIMIT stops it early when many match. An id may come
    # more than once (several messages of one ticket): only a result the LIMIT did not cut is complete.
    found = list(ids_parts[0].union(*ids_parts[1:], all=True)[:SEARCH_FEW + 1])
    return Q(pk__in=sorted(set(found))) if len(found) <= SEARCH_FEW else everywhere


def _search_parts(text: str) -> tuple[list[Q], QuerySet[Message] | None]:
    """The search's conditions on tickets, and the messages whose tickets it finds (or None)."""
    requesters = Requester.objects.filter(Q(email__icontains=text) | Q(name__icontains=text)).values("id")
    ticket_parts = [Q(reference=text.upper()), Q(requester_id__in=requesters)]
    if connection.vendor != "postgresql":
        messages = Message.objects.filter(Q(body_text__icontains=text) | Q(subject__icontains=text))
        return [*ticket_parts, Q(subject__icontains=text)], _without_own_mail(messages)
    words = _SEARCH_WORD.findall(text)[:8]
    if not words:  # nothing the full-text index can match (e.g. "@@")
        return [*ticket_parts, Q(subject__icontains=text)], None
    # The ticket's subject is its first message's subject, which the full-text index covers.
    messages = Message.objects.annotate(search=SearchVector("subject", "body_text", config="simple")).filter(
        search=SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple"))
    return ticket_parts, _without_own_mail(messages)


def _without_own_mail(messages: QuerySet[Message]) -> QuerySet[Message]:
    # The desk's own automatic mail (acknowledgements, notices) repeats request-type words: skip it.
    return messages.exclude(kind__in=[MessageKind.ACKNOWLEDGEMENT, MessageKind.NOTICE])


def queue_tickets(user: Any, slug: str, filters: QueueFilters, now: datetime | None = None) -> QuerySet[Ticket]:
    """One queue's tickets, filtered and sorted, with what the list shows in the same query."""
    now = now or timezone.now()
    qs = visible_tickets(user).filter(_queue_q(slug, user, now)).select_related("requester", "assignee")
    if filters.request_type:
        qs = qs.filter(request_type=filters.request_type)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.search:
        qs = qs.filter(search_filter(filters.search))
    return qs.annotate(unread_replies=unread_replies(user)).order_by(*SORTS.get(filters.sort, SORTS["due"]))


def unread_replies(user: Any) -> Coalesce:
    """Per ticket: the requester's follow-ups (not the request itself, not auto-replies) that arrived
    after both this user last opened the ticket and staff last wrote on it (a reply or a note).
    A subquery per listed row: the page's query count stays fixed."""
    epoch = Value(datetime(2000, 1, 1, tzinfo=UTC))
    last_view = (AuditEvent.objects.filter(ticket=OuterRef(OuterRef("pk")), action="ticket.viewed", actor_id=user.pk)
                 .order_by("-at").values("at")[:1])
    last_staff = (Message.objects.filter(ticket=OuterRef(OuterRef("pk")), author__isnull=False)
                  .exclude(direction=Direction.INBOUND).order_by("-sent_at").values("sent_at")[:1])
    newer = (Message.objects.filter(ticket=OuterRef("pk"), direction=Direction.INBOUND,
                                    sent_at__gt=OuterRef("received_at"))
             .exclude(kind=MessageKind.AUTO)
             .filter(sent_at__gt=Greatest(Coalesce(Subquery(last_view), epoch), Coalesce(Subquery(last_staff), epoch)))
             .values("ticket").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(newer, output_field=IntegerField()), 0)


def desk_staff() -> QuerySet[User]:
    """Everyone a ticket can be assigned to (for filters and the reassign form)."""
    return (
        User.objects.filter(is_active=True, groups__name__in=[ADMINISTRATOR_GROUP, MANAGER_GROUP])
        .distinct()
        .order_by("display_name", "username")
    )


# --- One ticket --------------------------------------------------------------------------------
@dataclass
class TimelineEntry:
    """A message or an audit event, put on one time line."""

    at: datetime
    kind: str  # "message" or "event"
    message: Message | None = None
    event: AuditEvent | None = None

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        pk = self.message.pk if self.message else (self.event.pk if self.event else 0)
        return (self.at, 0 if self.kind == "event" else 1, pk or 0)


@dataclass
class TicketDetail:
    ticket: Ticket
    timeline: list[TimelineEntry]
    other_tickets: list[Ticket]
    days_left: int
    pause_events: list[AuditEvent] = field(default_factory=list)
    merged_tickets: list[Ticket] = field(default_factory=list)  # merged into this one (issue 26)
    related: list[Ticket] = field(default_factory=list)


def ticket_for_user(user: Any, reference: str) -> Ticket | None:
    """The ticket, with requester and assignee, or None when it does not exist or is not visible."""
    return (visible_tickets(user).select_related("requester", "assignee", "merged_into")
            .filter(reference=reference).first())


def ticket_detail(user: Any, ticket: Ticket, now: datetime | None = None) -> TicketDetail:
    """Everything the ticket page shows, in a fixed number of queries."""
    now = now or timezone.now()
    messages = list(
        Message.objects.filter(ticket=ticket)
        .select_related("author", "given__given_by", "merged_from")
        .prefetch_related("attachments")
        .order_by("sent_at", "id")
    )
    # Merged duplicates keep their own hash-chained audit trail; their history shows here (issue 26).
    merged = list(Ticket.objects.filter(merged_into=ticket).values_list("pk", flat=True))
    events = [
        e for e in AuditEvent.objects.filter(ticket__in=[ticket.pk, *merged])
        .exclude(action__in=_TIMELINE_HIDDEN_ACTIONS)
        .select_related("actor").order_by("at", "id")
    ]
    timeline = [TimelineEntry(at=m.sent_at, kind="message", message=m) for m in messages]
    timeline += [TimelineEntry(at=e.at, kind="event", event=e) for e in events]
    timeline.sort(key=lambda entry: entry.sort_key)
    other = list(
        visible_tickets(user).filter(requester_id=ticket.requester_id).exclude(pk=ticket.pk)
        .exclude(state=TicketState.MERGED).order_by("-received_at")[:10]
    )
    pauses = [e for e in events if e.action in ("transition.request_info", "transition.resume")]
    return TicketDetail(
        ticket=ticket,
        timeline=timeline,
        other_tickets=other,
        merged_tickets=list(Ticket.objects.filter(pk__in=merged).order_by("reference")),
        related=list(ticket.related.order_by("reference")),
        days_left=(local_date(ticket.due_at) - local_date(now)).days,
        pause_events=pauses,
    )


# --- Quarantine --------------------------------------------------------------------------------
def quarantine_list(status: str = QuarantineStatus.PENDING) -> QuerySet[Quarantine]:
    qs = Quarantine.objects.select_related("ticket", "resolved_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-received_at", "-id")


RAW_PREVIEW_BYTES = 64 * 1024


def raw_preview(file_field: Any, limit: int = RAW_PREVIEW_BYTES) -> tuple[str, bool]:
    """The first ``limit`` bytes of a stored raw message as text (never HTML), and whether it was cut."""
    if not file_field:
        return "", False
    try:
        with file_field.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return "", False
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


# --- Bulk jobs (issue 31) ---------------------------------------------------------------------
def bulk_progress(job: BulkJob) -> dict[str, int]:
    """How many items are in each state (one query): the job's progress and, once done, its summary."""
    counts = {state: 0 for state in BulkItemState.values}
    for row in job.items.order_by().values("state").annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    return {**counts, "total": job.total}


def bulk_job_for(user: Any, job_id: int) -> BulkJob | None:
    """A job its creator, the managers and the auditors may follow; None for anyone else."""
    job = BulkJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or not (job.created_by_id == user.pk or is_manager(user) or is_auditor(user)):
        return None
    return job


def bulk_job_problems(job: BulkJob, limit: int = 500) -> QuerySet[BulkItem]:
    """The tickets skipped or failed, with the reason, in selection order (at most ``limit``)."""
    return (job.items.filter(state__in=[BulkItemState.SKIPPED, BulkItemState.FAILED])
            .select_related("ticket").order_by("pk")[:limit])
