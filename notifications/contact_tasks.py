"""Mail about tasks to departments, processors and providers (issue 26): the task, its reminders.

The task mail and the reminders to the contact are staff-only messages on the ticket (direction
``note``, kind ``task``), mailed by the usual ``deliver_message`` (and retried by its sweep). Each
carries the task's token — ``[PRIV-2026-0001-T1]`` in the subject and ``…PRIV-2026-0001-T1@…`` in the
Message-ID — so the contact's reply threads onto the ticket as that task's answer (``helpdesk.intake``).

Reminders (the beat task ``notifications.tasks.task_reminder_sweep``, or ``manage.py sla_sweep``):
``before_due`` once the day before the due date (``Task.remind_at``), ``overdue`` once the due date
has passed, each to the contact and to the assigned administrator (the managers when nobody is
assigned), exactly once per task and kind: the claim is a row of ``TaskReminder``, unique on
(task, kind), inserted with ``ON CONFLICT DO NOTHING``, so two sweeps racing send one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk import tasking
from helpdesk.models import DeliveryStatus, Direction, Message, MessageKind, Task, TaskState, Ticket, User
from helpdesk.trust import audit
from notifications.mail import render_bilingual
from notifications.models import StaffMailStatus, TaskReminder
from notifications.reminders import managers, ticket_url
from workflows.calendar import local_date
from workflows.request_types import RequestType

logger = logging.getLogger(__name__)

BEFORE_DUE = "before_due"
OVERDUE = "overdue"


def _context(task: Task, **extra: object) -> dict[str, object]:
    ticket = task.ticket
    return {"task": task, "contact": task.contact, "token": task.token, "reference": ticket.reference,
            "request_type": RequestType(ticket.request_type).label, "kind": task.contact.kind,
            "due_date": local_date(task.due_at), "instructions": task.instructions,
            "desk_email": settings.DESK_EMAIL, **extra}


def _mail(task: Task, *, body: str, subject: str, author: User | None, thread: str = "") -> Message:
    """A task mail to the contact, recorded on the ticket (staff only) and mailed after commit."""
    message = Message.objects.create(
        ticket=task.ticket, direction=Direction.NOTE, kind=MessageKind.TASK, sender=settings.DESK_EMAIL,
        sender_name=str(author) if author else "Privacy Desk", author=author, recipients=[task.contact_email],
        subject=subject[:500], body_text=body,
        message_id=make_msgid(idstring=task.token, domain=settings.DESK_MESSAGE_ID_DOMAIN).strip("<>"),
        in_reply_to=thread, references=thread, sent_at=timezone.now(), delivery_status=DeliveryStatus.PENDING)
    transaction.on_commit(lambda: tasking.enqueue("notifications.tasks.deliver_message", message.pk))
    return message


def queue_task_mail(*, task: Task, author: User | None) -> Message:
    """The task itself: what to do, by when, how to answer (Korean first unless the contact reads English first)."""
    body = render_bilingual("task", _context(task), task.contact.primary_language)
    subject = f"[{task.token}] 개인정보 처리 요청 / Privacy request task (due {local_date(task.due_at):%Y-%m-%d})"
    return _mail(task, body=body, subject=subject, author=author)


# --- The sweep ---------------------------------------------------------------------------------
def _candidates(kind: str, now: datetime, limit: int) -> list[int]:
    already = TaskReminder.objects.filter(task=OuterRef("pk"), kind=kind)
    tasks = Task.objects.filter(state=TaskState.OPEN).filter(~Exists(already))
    tasks = tasks.filter(due_at__lt=now) if kind == OVERDUE else tasks.filter(remind_at__lte=now, due_at__gte=now)
    return list(tasks.order_by("due_at").values_list("pk", flat=True)[:limit])


def _claim(kind: str, task_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(claim id, task id) of the claims this call inserted (a racing sweep's are skipped)."""
    if not task_ids:
        return []
    table = connection.ops.quote_name(TaskReminder._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(task_ids))
    params: list[Any] = []
    now = timezone.now()
    for task_id in task_ids:
        params += [task_id, kind, "", StaffMailStatus.PENDING, now]
    sql = (f"INSERT INTO {table} (task_id, kind, recipient, delivery_status, created_at) "  # noqa: S608
           f"VALUES {values} ON CONFLICT (task_id, kind) DO NOTHING RETURNING id, task_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


def run_task_sweep(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim due task reminders, write the contact's mail and the audit event; send after commit."""
    now = now or timezone.now()
    claimed: list[int] = []
    with transaction.atomic():
        for kind in (OVERDUE, BEFORE_DUE):
            for claim_id, task_id in _claim(kind, _candidates(kind, now, limit)):
                _remind_contact(claim_id, task_id, kind)
                claimed.append(claim_id)
        if claimed:
            transaction.on_commit(lambda: [tasking.enqueue("notifications.tasks.deliver_task_reminder", pk)
                                           for pk in claimed])
    if claimed:
        logger.info("task sweep: %d reminders", len(claimed))
    return claimed


def _remind_contact(claim_id: int, task_id: int, kind: str) -> None:
    task = Task.objects.select_related("ticket", "contact", "mail").get(pk=task_id)
    ticket = Ticket.objects.select_for_update().get(pk=task.ticket_id)  # the audit chain stays linear
    days_late = max(0, (local_date(timezone.now()) - local_date(task.due_at)).days)
    body = render_bilingual("task_reminder", _context(task, overdue=kind == OVERDUE, days_late=days_late),
                            task.contact.primary_language)
    when = ("기한 지남 / Overdue" if kind == OVERDUE else "기한 임박 / Due soon")
    subject = f"[{task.token}] {when}: 개인정보 처리 요청 / Privacy request task"
    message = _mail(task, body=body, subject=subject, author=None, thread=task.mail.message_id if task.mail else "")
    TaskReminder.objects.filter(pk=claim_id).update(message=message)
    audit.record_event(ticket=ticket, actor=None, actor_name="Privacy Desk", action="task.reminded",
                       data={"task": task.pk, "number": task.number, "kind": kind, "email": task.contact_email,
                             "message": message.pk})


def build_task_reminder_email(claim: TaskReminder, now: datetime) -> EmailMessage | None:
    """The assigned administrator's copy (the managers' when nobody is assigned)."""
    task = Task.objects.select_related("ticket__assignee", "contact").get(pk=claim.task_id)
    ticket = task.ticket
    assignee = ticket.assignee
    to = [assignee.email] if assignee is not None and assignee.is_active and assignee.email else [
        user.email for user in managers()]
    if not to:
        return None
    context = _context(task, overdue=claim.kind == OVERDUE, ticket_url=ticket_url(ticket),
                       recipient_name=str(assignee) if assignee is not None else "")
    body = render_bilingual("task_reminder_staff", context, "ko")
    texts = []
    for language in ("ko", "en"):
        with translation.override(language):
            texts.append(str(_("Task overdue") if claim.kind == OVERDUE else _("Task due soon")))
    subject = f"[{ticket.reference}] {texts[0]} / {texts[1]}: T{task.number} {task.contact}"
    headers = {"Message-ID": make_msgid(domain=settings.DESK_MESSAGE_ID_DOMAIN), "Auto-Submitted": "auto-generated",
               "X-Auto-Response-Suppress": "All", "X-Privacy-Desk-Ticket": ticket.reference}
    return EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to, headers=headers)


def task_still_open(claim: TaskReminder) -> bool:
    return Task.objects.filter(pk=claim.task_id, state=TaskState.OPEN).exists()
