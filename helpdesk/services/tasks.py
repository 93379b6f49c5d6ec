"""Tasks to departments, processors and providers (issue 26, point 6).

From a ticket, staff send a task by mail to a named :class:`~helpdesk.models.Contact` — the internal
data owner, a processor (the privacy policy's §11 consignee), or the controller that provided the
data (PIPA Enforcement Decree Art. 43(2): it must be told of a correction or deletion request) — with
what to do and a due date no later than the ticket's legal deadline. The contact's reply threads
onto the ticket as the task's answer and closes it (``helpdesk.intake``: the same party and
authentication checks as a requester's reply); staff may also close or cancel it. ``process`` is
refused while a task is open (a guard added in ``HelpdeskConfig.ready``). Reminders:
``notifications.task_reminders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from helpdesk.fulfilment.config import ConfigError, configured_sources
from helpdesk.models import Contact, Direction, Message, MessageKind, Task, TaskState, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.locking import bump, lock_for_staff, lock_ticket
from helpdesk.services.messages import InboundMessage, store_message
from helpdesk.services.requesters import normalize_email
from helpdesk.trust import audit
from notifications import contact_tasks
from workflows.calendar import end_of_day, local_date, start_of_day

# The before-due reminder goes this many days before the due date (not for a task sent later than that).
REMIND_DAYS_BEFORE = 1


def check_due_date(ticket: Ticket, due_date: date | None) -> date:
    """A due date from today up to the ticket's legal deadline (a field error otherwise)."""
    if due_date is None:
        raise GuardError({"due_date": _("Give the date the answer is due.")})
    deadline = local_date(ticket.due_at)
    if due_date > deadline:
        raise GuardError({"due_date": _("The answer must be due by the ticket's legal deadline, %(deadline)s.")
                          % {"deadline": date_format(deadline, "Y-m-d")}})
    if due_date < local_date(timezone.now()):
        raise GuardError({"due_date": _("The due date has passed already.")})
    return due_date


@transaction.atomic
def send_task(*, ticket: Ticket, actor: User, contact: Contact, instructions: str, due_date: date | None,
              source: str = "", expected_version: int | None = None) -> Task:
    """Mail ``contact`` what to do about the ticket, due by ``due_date``; audited."""
    if not instructions.strip():
        raise GuardError({"instructions": _("Say what the contact should do.")})
    locked = lock_for_staff(ticket, actor, expected_version)
    if not locked.is_open:
        raise GuardError({"contact": _("The ticket is closed: reopen it before sending a task.")})
    contact = Contact.objects.filter(pk=contact.pk, is_active=True).first()  # type: ignore[assignment]
    if contact is None:
        raise GuardError({"contact": _("Choose an active contact.")})
    address = normalize_email(contact.email)
    try:
        validate_email(address)
    except ValidationError as exc:
        raise GuardError({"contact": _("This contact has no valid e-mail address.")}) from exc
    day = check_due_date(locked, due_date)
    number = (Task.objects.filter(ticket=locked).aggregate(n=Max("number"))["n"] or 0) + 1
    remind_at = start_of_day(date.fromordinal(day.toordinal() - REMIND_DAYS_BEFORE))
    task = Task.objects.create(
        ticket=locked, number=number, contact=contact, contact_email=address, source=source.strip()[:63],
        instructions=instructions.strip(), due_at=end_of_day(day),
        remind_at=remind_at if remind_at > timezone.now() else None, created_by=actor)
    task.mail = contact_tasks.queue_task_mail(task=task, author=actor)
    task.save(update_fields=["mail"])
    audit.record_event(ticket=locked, actor=actor, action="task.sent", data={
        "task": task.pk, "number": number, "contact": str(contact), "email": address, "kind": contact.kind,
        "due": day.isoformat(), "message": task.mail.pk})
    bump(locked)
    ticket.refresh_from_db()
    return task


def _open_task(ticket: Ticket, task_id: int) -> Task:
    task = Task.objects.select_for_update().filter(ticket=ticket, pk=task_id).first()
    if task is None:
        raise GuardError({"task": _("No such task on this ticket.")})
    if not task.is_open:
        raise GuardError({"task": _("This task is closed already.")})
    return task


@transaction.atomic
def close_task(*, ticket: Ticket, actor: User, task_id: int, note: str = "", cancel: bool = False) -> Task:
    """Staff close a task (answered another way: by phone, in a meeting) or cancel it (not needed)."""
    if cancel and not note.strip():
        raise GuardError({"note": _("Say why the task is cancelled.")})
    locked = lock_for_staff(ticket, actor, expected_version=None)
    task = _open_task(locked, task_id)
    task.state = TaskState.CANCELLED if cancel else TaskState.DONE
    task.closed_at, task.closed_by, task.close_note = timezone.now(), actor, note.strip()[:500]
    task.save(update_fields=["state", "closed_at", "closed_by", "close_note"])
    audit.record_event(ticket=locked, actor=actor, action="task.cancelled" if cancel else "task.closed",
                       data={"task": task.pk, "number": task.number, "note": task.close_note})
    bump(locked)
    ticket.refresh_from_db()
    return task


@transaction.atomic
def record_task_answer(*, task_id: int, message: InboundMessage) -> Message:
    """The contact's reply (threaded by intake, which checked who sent it): filed on the ticket for
    staff only, as the task's answer; the first answer closes an open task."""
    task = Task.objects.select_related("ticket").get(pk=task_id)
    locked = lock_ticket(task.ticket)
    task = Task.objects.select_for_update().get(pk=task_id)
    stored = store_message(ticket=locked, direction=Direction.NOTE, kind=MessageKind.TASK_ANSWER, message=message)
    closes = task.is_open
    if closes:
        task.state, task.answer, task.closed_at = TaskState.ANSWERED, stored, timezone.now()
        task.save(update_fields=["state", "answer", "closed_at"])
    audit.record_event(ticket=locked, actor=None, actor_name=f"contact <{task.contact_email}>",
                       action="task.answered" if closes else "task.reply_received",
                       data={"task": task.pk, "number": task.number, "email": task.contact_email,
                             "message": stored.pk})
    bump(locked)
    return stored


@dataclass(frozen=True)
class SourceContact:
    """A data source that names a contact in the data-sources file, and whether the admin knows it."""

    source: str
    email: str
    contact: Contact | None


def source_contacts() -> tuple[list[SourceContact], str]:
    """The data sources' contacts (``contact = "…"`` in the file), and the file's error, if any."""
    try:
        sources = configured_sources()
    except ConfigError as exc:
        return [], str(exc)
    named = [(s.name, s.contact) for s in sources if s.contact]
    known = {normalize_email(c.email): c for c in Contact.objects.filter(is_active=True)}
    return [SourceContact(name, email, known.get(normalize_email(email))) for name, email in named], ""
