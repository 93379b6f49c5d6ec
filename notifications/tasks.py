"""Celery tasks for outbound mail. Each send is idempotent: a message goes out once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from helpdesk.models import DeliveryStatus, Message
from notifications.mail import build_email

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, default_retry_delay=60, acks_late=True)
def deliver_message(self: Any, message_pk: int) -> str:
    """Send one recorded outbound message; retried with backoff when SMTP is down."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .select_related("ticket__requester")
            .filter(pk=message_pk, delivery_status=DeliveryStatus.PENDING)
            .first()
        )
        if message is None:
            return "skipped"  # already sent, or another worker has it right now
        try:
            build_email(message).send(fail_silently=False)
        except Exception as exc:
            logger.warning("sending message %s failed: %s", message_pk, exc)
            if self.request.called_directly or self.request.is_eager:
                Message.objects.filter(pk=message_pk).update(delivery_status=DeliveryStatus.FAILED)
                return "failed"
            raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc
        Message.objects.filter(pk=message_pk).update(delivery_status=DeliveryStatus.SENT)
    return "sent"


@shared_task
def retry_pending_messages(older_than_minutes: int = 10) -> int:
    """Re-enqueue outbound mail left pending or failed (broker down, SMTP down, worker died).

    Gives up after two days; a failed message stays visible on the ticket for staff.
    """
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
    for pk in pending:
        deliver_message.delay(pk)
    return len(pending)
