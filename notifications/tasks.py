"""Celery tasks for outbound mail. Each send is idempotent: a message goes out once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import timezone

from helpdesk.models import DeliveryStatus, Message
from notifications.contact_tasks import build_task_reminder_email, run_task_sweep, task_still_open
from notifications.mail import MAIL_FIELDS, build_email
from notifications.models import DigestLog, SentNotification, StaffMailStatus, TaskReminder
from notifications.reminders import (
    build_bounce_alert,
    build_digest_email,
    build_notification_email,
    claim_digests,
    run_sweep,
)
from notifications.webhooks import deliver, due_deliveries
from workflows.states import CLOCK_RUNNING_STATES

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def deliver_message(self: Any, message_pk: int) -> str:
    """Send one recorded outbound message; retried with backoff when SMTP is down."""
    result = _send_each([message_pk])
    if not result.failed:
        return "sent" if result.sent else "skipped"  # skipped: already sent, or another worker has it
    exc = result.failed[message_pk]
    logger.warning("sending message %s failed: %s", message_pk, exc)
    if self.request.called_directly or self.request.is_eager:
        Message.objects.filter(pk=message_pk).update(delivery_status=DeliveryStatus.FAILED)
        return "failed"
    raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc


@shared_task(bind=True, acks_late=True)
def deliver_messages(self: Any, message_pks: list[int]) -> dict[str, int]:
    """Send many recorded outbound messages over one SMTP connection (mail intake's acknowledgements).

    One that cannot be sent is handed to :func:`deliver_message` and its retries (in-process, it
    is marked failed for the retry sweep, as deliver_message does).
    """
    sent, failed = 0, list(message_pks)
    smtp = get_connection(fail_silently=False)
    try:
        smtp.open()
    except Exception as exc:
        logger.warning("cannot connect to send %d messages: %s", len(message_pks), exc)
    else:
        try:
            result = _send_each(message_pks, smtp)
        finally:
            smtp.close()
        sent, failed = len(result.sent), list(result.failed)
        for pk, error in result.failed.items():
            logger.warning("sending message %s failed: %s", pk, error)
    if failed and (self.request.called_directly or self.request.is_eager):
        Message.objects.filter(pk__in=failed, delivery_status=DeliveryStatus.PENDING).update(
            delivery_status=DeliveryStatus.FAILED)
    else:
        for pk in failed:
            deliver_message.delay(pk)
    return {"sent": sent, "failed": len(failed), "skipped": len(message_pks) - sent - len(failed)}


@dataclass
class _SendResult:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, Exception] = field(default_factory=dict)


def _send_each(message_pks: list[int], smtp: Any = None) -> _SendResult:
    """Send each pending message, marking it sent in the same short transaction.

    The mark is written (row-locked) before the send and committed after it; a failed send rolls
    it back, so the message stays pending. Another worker on the same message waits for that one
    transaction, then finds it sent. A worker killed between send and commit resends one message.
    """
    result = _SendResult()
    # Only what build_email reads: whole rows (ticket and requester too) were two thirds of the time
    # intake's in-process delivery took on SQLite, most of it building their instances.
    messages = Message.objects.select_related("ticket").only(*MAIL_FIELDS).prefetch_related("attachments").filter(
        pk__in=message_pks, delivery_status=DeliveryStatus.PENDING).order_by("pk")
    _send_and_mark(list(messages), smtp, result)
    return result


def _send_and_mark(messages: list[Message], smtp: Any, result: _SendResult) -> None:
    # Message.objects.filter(pk=…, delivery_status=PENDING).update(…) as one plain statement, written
    # once: building that ORM query for every message was two thirds of the delivery's CPU time after
    # an intake batch (docs/intake.md, "Session 11").
    claim = _claim_statement()
    with _commits_not_waiting_for_the_disk():
        for message in messages:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(claim, [DeliveryStatus.SENT.value, message.pk, DeliveryStatus.PENDING.value])
                    if not cursor.rowcount:
                        continue  # sent by another worker meanwhile
                    _send(message, smtp)
            except Exception as exc:
                result.failed[message.pk] = exc
            else:
                result.sent.append(message.pk)


def _claim_statement() -> str:
    quote = connection.ops.quote_name
    table, status, pk = (quote(str(name)) for name in (
        Message._meta.db_table, Message._meta.get_field("delivery_status").column, Message._meta.pk.column))
    return f"UPDATE {table} SET {status} = %s WHERE {pk} = %s AND {status} = %s"  # noqa: S608


@contextmanager
def _commits_not_waiting_for_the_disk() -> Iterator[None]:
    """PostgreSQL: the marks' commits do not wait for the WAL flush (``synchronous_commit = off``
    for this connection while it sends; reset after). A worker killed mid-way still resends at most
    one message: each mark is committed before the next send. What a PostgreSQL crash (not a clean
    stop) can lose is the marks of its last fraction of a second, and the retry sweep then sends
    those messages again — a send between the mark and the commit was never ruled out either.
    Tickets, messages and audit events are committed with the flush, in their own transactions.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield  # SQLite (WAL, synchronous=NORMAL) does not wait for the disk; inside a transaction nothing commits
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _send(message: Message, smtp: Any) -> None:
    email = build_email(message)
    if smtp is not None:
        email.connection = smtp
    if not email.send(fail_silently=False):
        raise OSError("the mail backend accepted nothing")


@shared_task(acks_late=True)
def deliver_webhook(delivery_pk: int) -> str:
    """POST one webhook delivery (notifications.webhooks); failures are retried by retry_webhooks."""
    return deliver(delivery_pk)


@shared_task
def retry_webhooks() -> int:
    """Beat task (every minute): send webhook deliveries whose next attempt is due."""
    due = due_deliveries()
    for pk in due:
        deliver_webhook.delay(pk)
    return len(due)


def messages_due_for_retry(older_than_minutes: int = 10) -> list[int]:
    """Outbound mail left pending or failed (broker down, SMTP down, a crash after the commit),
    made pending again for a new try. Gives up after two days; a failed message stays visible on
    the ticket for staff."""
    now = timezone.now()
    pending = list(
        Message.objects.filter(
            delivery_status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            created_at__lt=now - timedelta(minutes=older_than_minutes),
            created_at__gte=now - timedelta(days=2),
        ).values_list("pk", flat=True)[:500]
    )
    Message.objects.filter(pk__in=pending, delivery_status=DeliveryStatus.FAILED).update(
        delivery_status=DeliveryStatus.PENDING
    )
    return pending


@shared_task
def retry_pending_messages(older_than_minutes: int = 10) -> int:
    """Beat task: re-enqueue outbound mail left pending or failed (:func:`messages_due_for_retry`)."""
    pending = messages_due_for_retry(older_than_minutes)
    for pk in pending:
        deliver_message.delay(pk)
    return len(pending)


def resend_pending_messages(older_than_minutes: int = 10) -> int:
    """The same without beat or a worker (``manage.py sla_sweep`` from cron): sent here, now, over one
    connection; what fails again is marked failed for the next run. Returns how many were sent."""
    pending = messages_due_for_retry(older_than_minutes)
    if not pending:
        return 0
    return int(deliver_messages(pending)["sent"])


# --- SLA sweep: reminders, escalations, digest (issue 4) ----------------------------------------
@shared_task
def sla_sweep() -> dict[str, int]:
    """Beat task (every 5 minutes): claim due reminders and escalations, send them after commit."""
    return run_sweep().as_dict()


@shared_task
def send_daily_digests() -> int:
    """Beat task (08:30 Asia/Seoul): one digest per administrator per day."""
    return len(claim_digests())


def _deliver_staff_mail(task: Any, model: Any, pk: int, build: Any, still_needed: Any = None) -> str:
    """Send one claimed staff mail once: row lock, skip if not pending, mark the outcome."""
    with transaction.atomic():
        row = model.objects.select_for_update(skip_locked=True).filter(
            pk=pk, delivery_status=StaffMailStatus.PENDING
        ).first()
        if row is None:
            return "skipped"  # already sent, or another worker has it right now
        now = timezone.now()
        if still_needed is not None and not still_needed(row):
            model.objects.filter(pk=pk).update(delivery_status=StaffMailStatus.CANCELLED, sent_at=now)
            return "cancelled"
        mail = build(row, now)
        if mail is None:
            model.objects.filter(pk=pk).update(delivery_status=StaffMailStatus.EMPTY, sent_at=now)
            return "empty"
        try:
            mail.send(fail_silently=False)
        except Exception as exc:
            logger.warning("sending %s %s failed: %s", model.__name__, pk, exc)
            if task.request.called_directly or task.request.is_eager:
                return "failed"  # stays pending: the next sweep retries it
            raise task.retry(exc=exc, countdown=min(3600, 60 * 2**task.request.retries)) from exc
        fields: dict[str, Any] = {"delivery_status": StaffMailStatus.SENT, "sent_at": now}
        if hasattr(row, "recipient"):
            fields["recipient"] = ", ".join(mail.to + mail.cc)[:320]
        model.objects.filter(pk=pk).update(**fields)
    return "sent"


def _notification_still_needed(row: Any) -> bool:
    """A reminder about a deadline that moved, or a ticket that was answered or paused, is stale."""
    ticket = row.ticket
    return ticket.state in CLOCK_RUNNING_STATES and ticket.due_at == row.due_at


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def deliver_notification(self: Any, notification_pk: int) -> str:
    """Mail one claimed reminder or escalation (see notifications.reminders)."""
    return _deliver_staff_mail(self, SentNotification, notification_pk, build_notification_email,
                               _notification_still_needed)


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def deliver_digest(self: Any, digest_pk: int) -> str:
    """Mail one administrator's daily digest (claimed in DigestLog)."""
    return _deliver_staff_mail(self, DigestLog, digest_pk, build_digest_email)


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def alert_bounce(self: Any, note_pk: int) -> str:
    """Mail the assigned administrator (or the managers) that the requester's address bounced (issue 29);
    the note on the ticket says the same to anyone who opens it."""
    mail = build_bounce_alert(note_pk)
    if mail is None:
        return "empty"
    try:
        mail.send(fail_silently=False)
    except Exception as exc:
        logger.warning("bounce alert for note %s not sent: %s", note_pk, exc)
        if self.request.called_directly or self.request.is_eager:
            return "failed"  # the note on the ticket stays
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc
    return "sent"


# --- Tasks to departments, processors and providers (issue 26) ----------------------------------
@shared_task
def task_reminder_sweep() -> int:
    """Beat task (every 5 minutes): claim due task reminders (``notifications.contact_tasks``)."""
    return len(run_task_sweep())


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def deliver_task_reminder(self: Any, claim_pk: int) -> str:
    """Mail the assigned administrator one claimed task reminder (the contact's went as a message)."""
    return _deliver_staff_mail(self, TaskReminder, claim_pk, build_task_reminder_email, task_still_open)
