"""The SLA sweep: staged reminders, escalation of missed deadlines, the daily digest.

How a send stays exactly-once, even with two beat schedulers or several workers racing:

1. Each stage is one indexed query: running tickets whose ``due_at`` falls in the stage's window
   (a range on the partial index ``ticket_open_due``) and which have no SentNotification for that
   stage and deadline (``NOT EXISTS`` on the unique index).
2. The claims are inserted in one statement, ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``:
   the unique constraint (ticket, kind, stage) lets only one sweep win each row; the loser's
   insert returns nothing for it (on PostgreSQL it waits for the winner's commit, then skips).
3. Only the rows actually inserted are handed to ``deliver_notification``, after the commit. A
   claim whose mail did not go out (broker or SMTP down) stays ``pending`` and is re-queued by a
   later sweep.

The number of queries per sweep depends on the policies' reminder offsets, never on the number of
tickets. Stages are day-granular in the desk's time zone (Asia/Seoul).
"""

from __future__ import annotations

import logging
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk import tasking
from helpdesk.base_url import desk_base_url
from helpdesk.models import Message, Ticket, User
from notifications.mail import new_message_id, render_bilingual
from notifications.models import DigestLog, SentNotification, StaffMailStatus
from workflows.calendar import end_of_day, local_date, start_of_day
from workflows.models import SlaPolicy
from workflows.request_types import Jurisdiction, RequestType
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP
from workflows.sla import FALLBACK_POLICY, ticket_policy
from workflows.states import CLOCK_RUNNING_STATES

logger = logging.getLogger(__name__)

REMINDER = "reminder"
ESCALATION = "escalation"
RUNNING = [str(s) for s in CLOCK_RUNNING_STATES]


def batch_size() -> int:
    return int(getattr(settings, "DESK_SLA_SWEEP_BATCH", 500))


def reminder_stage(offset: int, due_at: datetime) -> str:
    return f"{offset}@{local_date(due_at).isoformat()}"


def escalation_stage(due_at: datetime) -> str:
    return f"overdue@{local_date(due_at).isoformat()}"


@dataclass
class SweepResult:
    reminders: list[int] = field(default_factory=list)  # SentNotification ids claimed by this sweep
    escalations: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> list[int]:
        return self.escalations + self.reminders

    def as_dict(self) -> dict[str, int]:
        return {"reminders": len(self.reminders), "escalations": len(self.escalations), "retried": len(self.retried)}


# --- Which tickets follow which reminder offsets -------------------------------------------
def offset_groups() -> dict[tuple[int, ...], Q]:
    """Reminder offsets (descending) → a filter for the tickets whose policy has them.

    One query for the policies (a few dozen rows); a ticket type without its own policy row
    follows the Korean one, as :func:`workflows.sla.policy_for` does.
    """
    rows = {(p.request_type, p.jurisdiction): p for p in SlaPolicy.objects.all()}
    by_offsets: dict[tuple[int, ...], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for jurisdiction in Jurisdiction.values:
        for request_type in RequestType.values:
            policy = rows.get((request_type, jurisdiction)) or rows.get((request_type, Jurisdiction.KR))
            offsets = _clean_offsets((policy or FALLBACK_POLICY).reminder_offsets)
            if offsets:
                by_offsets[offsets][jurisdiction].append(request_type)
    groups: dict[tuple[int, ...], Q] = {}
    for offsets, jurisdictions in by_offsets.items():
        parts = [
            Q(jurisdiction=jurisdiction)
            if len(types) == len(RequestType.values)
            else Q(jurisdiction=jurisdiction, request_type__in=types)
            for jurisdiction, types in jurisdictions.items()
        ]
        groups[offsets] = reduce(operator.or_, parts)
    return groups


def _clean_offsets(raw: Any) -> tuple[int, ...]:
    try:
        values = {int(v) for v in raw or [] if int(v) >= 0}
    except (TypeError, ValueError):
        values = {3, 1, 0}  # a mistyped policy must not silence reminders
    return tuple(sorted(values, reverse=True))


# --- Claiming ------------------------------------------------------------------------------
def claim(kind: str, rows: Sequence[tuple[int, str, datetime]]) -> list[int]:
    """Insert (ticket, kind, stage) claims; return the ids of the rows this call inserted.

    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite ≥ 3.35): a row another
    sweep already holds is skipped and not returned, so nobody sends it twice.
    """
    if not rows:
        return []
    table = connection.ops.quote_name(SentNotification._meta.db_table)
    now = timezone.now()
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for ticket_id, stage, due_at in rows:
        params += [ticket_id, kind, stage, "", due_at, StaffMailStatus.PENDING, now]
    sql = (
        f"INSERT INTO {table} (ticket_id, kind, stage, recipient, due_at, delivery_status, created_at) "  # noqa: S608
        f"VALUES {values} ON CONFLICT (ticket_id, kind, stage) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# --- The stage queries -----------------------------------------------------------------------
def reminder_candidates(
    condition: Q, offset: int, lower: int, today: date, limit: int
) -> QuerySet[Ticket, tuple[int, datetime]]:
    """Running tickets with ``lower <= days left <= offset`` and no reminder for this stage yet."""
    already = SentNotification.objects.filter(
        ticket=OuterRef("pk"), kind=REMINDER, due_at=OuterRef("due_at"), stage__startswith=f"{offset}@"
    )
    return (
        Ticket.objects.filter(
            state__in=RUNNING,
            due_at__gte=start_of_day(today + timedelta(days=lower)),
            due_at__lte=end_of_day(today + timedelta(days=offset)),
        )
        .filter(condition)
        .filter(~Exists(already))
        .order_by("due_at")
        .values_list("pk", "due_at")[:limit]
    )


def escalation_candidates(now: datetime, limit: int) -> QuerySet[Ticket, tuple[int, datetime]]:
    """Running tickets whose deadline has passed and that were not escalated for that deadline."""
    already = SentNotification.objects.filter(ticket=OuterRef("pk"), kind=ESCALATION, due_at=OuterRef("due_at"))
    return (
        Ticket.objects.filter(state__in=RUNNING, due_at__lt=now)
        .filter(~Exists(already))
        .order_by("due_at")
        .values_list("pk", "due_at")[:limit]
    )


def stale_pending(now: datetime, limit: int) -> QuerySet[SentNotification, int]:
    """Claims whose mail has not gone out 10 minutes later (and not older than two days)."""
    return SentNotification.objects.filter(
        delivery_status=StaffMailStatus.PENDING,
        created_at__lt=now - timedelta(minutes=10),
        created_at__gte=now - timedelta(days=2),
    ).values_list("pk", flat=True)[:limit]


def reminder_windows(offsets: Iterable[int]) -> list[tuple[int, int]]:
    """(offset, lowest days-left) per stage: 3,1,0 → (3: 2–3 days), (1: 1 day), (0: due today).

    Only the most urgent stage that applies is sent: a ticket that is already one day from its
    deadline when first seen gets the one-day reminder, not the three-day one as well.
    """
    ordered = sorted(set(offsets), reverse=True)
    return [(k, (ordered[i + 1] + 1) if i + 1 < len(ordered) else 0) for i, k in enumerate(ordered)]


def run_sweep(*, now: datetime | None = None, limit: int | None = None, enqueue: bool = True) -> SweepResult:
    """One pass: escalations first (most urgent), then reminder stages from the due day upwards."""
    now = now or timezone.now()
    today = local_date(now)
    remaining = limit if limit is not None else batch_size()
    result = SweepResult()
    with transaction.atomic():
        rows = list(escalation_candidates(now, remaining))
        result.escalations = claim(ESCALATION, [(pk, escalation_stage(due), due) for pk, due in rows])
        remaining -= len(result.escalations)
        stages = [
            (offset, lower, condition)
            for offsets, condition in offset_groups().items()
            for offset, lower in reminder_windows(offsets)
        ]
        for offset, lower, condition in sorted(stages, key=lambda s: s[0]):
            if remaining <= 0:
                break
            rows = list(reminder_candidates(condition, offset, lower, today, remaining))
            claimed = claim(REMINDER, [(pk, reminder_stage(offset, due), due) for pk, due in rows])
            result.reminders += claimed
            remaining -= len(claimed)
        fresh = set(result.claimed)
        result.retried = [pk for pk in stale_pending(now, batch_size()) if pk not in fresh]
        if enqueue:
            to_send = result.claimed + result.retried
            transaction.on_commit(lambda: enqueue_notifications(to_send))
    if result.claimed:
        logger.info("sla sweep: %s", result.as_dict())
    return result


def enqueue_notifications(pks: Sequence[int]) -> None:
    for pk in pks:  # broker down: the claim stays pending and the next sweep re-queues it
        tasking.enqueue("notifications.tasks.deliver_notification", pk)


# --- Digest ----------------------------------------------------------------------------------
DIGEST_HORIZON_DAYS = 3


def digest_recipients() -> QuerySet[User]:
    return User.objects.filter(is_active=True, is_away=False, groups__name=ADMINISTRATOR_GROUP).exclude(email="")


def claim_digests(*, now: datetime | None = None, enqueue: bool = True) -> list[int]:
    """Claim today's digest for every administrator (DigestLog (user, day) unique); send after commit."""
    now = now or timezone.now()
    day = local_date(now)
    users = list(digest_recipients().values_list("pk", flat=True).distinct())
    if not users:
        return []
    table = connection.ops.quote_name(DigestLog._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(users))
    params: list[Any] = []
    for user_id in users:
        params += [user_id, day, StaffMailStatus.PENDING, now]
    sql = (
        f"INSERT INTO {table} (user_id, day, delivery_status, created_at) VALUES {values} "  # noqa: S608
        "ON CONFLICT (user_id, day) DO NOTHING RETURNING id"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            claimed = [row[0] for row in cursor.fetchall()]
        if enqueue and claimed:
            transaction.on_commit(lambda: _enqueue_digests(claimed))
    return claimed


def _enqueue_digests(pks: Sequence[int]) -> None:
    for pk in pks:
        tasking.enqueue("notifications.tasks.deliver_digest", pk)


def digest_context(user: User, now: datetime) -> dict[str, Any] | None:
    """What one administrator should look at today; None when there is nothing."""
    today = local_date(now)
    horizon_end = end_of_day(today + timedelta(days=DIGEST_HORIZON_DAYS))
    mine = Ticket.objects.filter(assignee=user)
    overdue = list(mine.filter(state__in=RUNNING, due_at__lt=now).order_by("due_at"))
    due_soon = list(mine.filter(state__in=RUNNING, due_at__gte=now, due_at__lte=horizon_end).order_by("due_at"))
    waiting = list(mine.filter(state="awaiting_requester").order_by("due_at")[:50])
    unassigned = list(
        Ticket.objects.filter(assignee__isnull=True, state__in=RUNNING, due_at__lte=horizon_end).order_by("due_at")[:50]
    )
    if not (overdue or due_soon or unassigned):
        return None
    for ticket in overdue + due_soon + unassigned + waiting:
        ticket.local_due = timezone.localtime(ticket.due_at)  # type: ignore[attr-defined]
        ticket.days_left = (local_date(ticket.due_at) - today).days  # type: ignore[attr-defined]
    return {
        "recipient_name": str(user),
        "day": today,
        "horizon": DIGEST_HORIZON_DAYS,
        "overdue": overdue,
        "due_soon": due_soon,
        "waiting": waiting,
        "unassigned": unassigned,
        "queue_url": f"{desk_base_url()}/desk/",
    }


# --- Building the staff mails ----------------------------------------------------------------
def managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=MANAGER_GROUP).exclude(email="").distinct()


def ticket_url(ticket: Ticket) -> str:
    try:
        path = reverse("desk:ticket", args=[ticket.reference])
    except NoReverseMatch:  # the staff views may not be wired yet; the queue always exists
        path = f"/desk/?q={ticket.reference}"
    except Exception:  # a broken URLconf must never stop a deadline reminder
        logger.exception("cannot build the ticket link for %s", ticket.reference)
        path = f"/desk/?q={ticket.reference}"
    return f"{desk_base_url()}{path}"


def _staff_email(*, subject: str, body: str, to: list[str], cc: Sequence[str] = (),
                 ticket: Ticket | None = None) -> EmailMessage:
    headers = {
        "Message-ID": f"<{new_message_id()}>",
        # RFC 3834: a robot's mail; auto-responders must not answer it, intake ignores replies to it.
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if ticket is not None:
        headers["X-Privacy-Desk-Ticket"] = ticket.reference
    return EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to,
                        cc=[a for a in cc if a not in to], headers=headers)


def build_bounce_alert(note_pk: int) -> EmailMessage | None:
    """The staff mail for a bounce note (``services.record_bounce``): to the ticket's administrator,
    or the managers when nobody is assigned."""
    note = Message.objects.select_related("ticket__assignee").filter(pk=note_pk).first()
    if note is None:
        return None
    ticket = note.ticket
    to = [ticket.assignee.email] if ticket.assignee is not None and ticket.assignee.email else [
        user.email for user in managers()]
    if not to:
        return None
    texts = []
    for language in ("ko", "en"):
        with translation.override(language):
            texts.append(str(_("The requester's address does not work")))
    subject = f"[{ticket.reference}] {texts[0]} / {texts[1]}"
    return _staff_email(subject=subject, body=f"{note.body_text}\n\n{ticket_url(ticket)}\n", to=to, ticket=ticket)


def build_notification_email(notification: SentNotification, now: datetime) -> EmailMessage | None:
    """The reminder or escalation mail for a claim; None when there is nobody to tell."""
    ticket = notification.ticket
    today = local_date(now)
    context: dict[str, Any] = {
        "ticket": ticket,
        "received_at": timezone.localtime(ticket.received_at),
        "due_at": timezone.localtime(ticket.due_at),
        "ticket_url": ticket_url(ticket),
    }
    manager_addresses = list(managers().values_list("email", flat=True))
    assignee = ticket.assignee
    if notification.kind == ESCALATION:
        to = list(dict.fromkeys(manager_addresses + ticket_policy(ticket).escalation_list))
        cc = [assignee.email] if assignee is not None and assignee.email else []
        days_overdue = max(1, (today - local_date(ticket.due_at)).days)
        context.update(days_overdue=days_overdue)
        body = render_bilingual("escalation", context, "ko")
        subject = (f"[{ticket.reference}] 처리 기한 초과 / Deadline missed "
                   f"({timezone.localtime(ticket.due_at):%Y-%m-%d}): {ticket.subject}")
    else:
        to_assignee = assignee is not None and assignee.is_active and not assignee.is_away and bool(assignee.email)
        to = [assignee.email] if to_assignee and assignee is not None else manager_addresses
        cc = []
        days_left = max(0, (local_date(ticket.due_at) - today).days)
        context.update(days_left=days_left, to_managers=not to_assignee,
                       recipient_name=str(assignee) if to_assignee else "Managers")
        body = render_bilingual("reminder", context, "ko")
        when_ko = "오늘 기한" if days_left == 0 else f"기한 {days_left}일 전"
        when_en = "due today" if days_left == 0 else f"due in {days_left} day{'s' if days_left != 1 else ''}"
        subject = f"[{ticket.reference}] {when_ko} / Reminder: {when_en}: {ticket.subject}"
    if not to:
        return None
    return _staff_email(subject=subject, body=body, to=to, cc=cc, ticket=ticket)


def build_digest_email(log: DigestLog, now: datetime) -> EmailMessage | None:
    user = User.objects.get(pk=log.user_id)
    context = digest_context(user, now)
    if context is None or not user.email:
        return None
    body = render_bilingual("digest", context, "ko")
    counts = f"{len(context['overdue'])}/{len(context['due_soon'])}"
    subject = f"[Privacy Desk] {log.day:%Y-%m-%d} 처리 기한 요약 / Daily digest (overdue/due soon {counts})"
    return _staff_email(subject=subject, body=body, to=[user.email])
