"""Outgoing webhooks: a signed POST to each active endpoint on ticket events.

Deliveries are rows written in the same transaction as the audit event they report (nothing is
sent for work that rolled back) and POSTed by Celery after the commit, never inside a request.
A failed POST is tried again with backoff (1, 2, 4 … 60 minutes; 8 attempts) by the
``retry_webhooks`` beat task.

The body carries no personal data — the ticket's reference, type, state and deadline and the
event's states; receivers fetch more through the API with their own credentials. Signature:
``X-Privacy-Desk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's
secret>``, with ``X-Privacy-Desk-Timestamp`` (Unix seconds), so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from helpdesk import tasking
from helpdesk.base_url import desk_base_url
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

logger = logging.getLogger(__name__)

# Ticket events reported (prefixes). Access records (ticket.viewed, downloads) are not events.
EVENTS = ("ticket.created", "ticket.assigned", "ticket.reclassified", "transition.", "reply.sent",
          "message.received", "sla.")
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10
_CACHE_KEY = "webhooks:any-active-endpoint"
_CACHE_SECONDS = 60


def _active_endpoints() -> list[tuple[int, list[str]]]:
    """(id, event filters) of active endpoints. Whether there are any is cached (every audited
    write asks, and most installations have none); the endpoints themselves are always read."""
    if cache.get(_CACHE_KEY) is False:
        return []
    endpoints = [(pk, list(events or [])) for pk, events in
                 WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "events")]
    cache.set(_CACHE_KEY, bool(endpoints), _CACHE_SECONDS)
    return endpoints


def forget_endpoints() -> None:
    cache.delete(_CACHE_KEY)


def _endpoints_changed(**_kwargs: Any) -> None:
    forget_endpoints()
    transaction.on_commit(forget_endpoints)  # and again once the change is visible to everyone


post_save.connect(_endpoints_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoints-saved")
post_delete.connect(_endpoints_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoints-deleted")


def _wanted(action: str, filters: list[str]) -> bool:
    return any(action.startswith(prefix) for prefix in (filters or EVENTS)) and action.startswith(EVENTS)


def on_ticket_events(sender: Any, events: Iterable[Any], **kwargs: Any) -> None:
    """Receiver of ``helpdesk.trust.audit.ticket_events_recorded`` (connected in NotificationsConfig.ready)."""
    queue_for_events(events)


def queue_for_events(events: Iterable[Any]) -> None:
    """Record a delivery per (active endpoint, reported ticket event) and send them after commit."""
    endpoints = _active_endpoints()
    if not endpoints:
        return
    deliveries = []
    for event in events:
        if event.ticket is None:
            continue
        body = None
        for pk, filters in endpoints:
            if _wanted(event.action, filters):
                body = body or _body(event)
                # First sent right after the commit; the sweep is the backstop a minute later.
                deliveries.append(WebhookDelivery(endpoint_id=pk, event=event.action, body=body,
                                                  next_attempt_at=event.at + timedelta(minutes=1)))
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        pks = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(pks), robust=True)


def _body(event: Any) -> str:
    ticket = event.ticket
    return json.dumps({
        "event": event.action,
        "at": event.at.isoformat(),
        "from_state": event.from_state or None,
        "to_state": event.to_state or None,
        "ticket": {
            "reference": ticket.reference,
            "request_type": ticket.request_type,
            "state": ticket.state,
            "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
            "url": f"{desk_base_url()}/api/v1/tickets/{ticket.reference}/",
        },
    }, ensure_ascii=False, sort_keys=True)


def _enqueue(pks: list[int]) -> None:
    for pk in pks:  # broker down: the sweep sends it later
        tasking.enqueue("notifications.tasks.deliver_webhook", pk)


def signature(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def deliver(delivery_pk: int) -> str:
    """POST one delivery if it is due; record the outcome.

    Claimed first in a short transaction (attempt counted, next attempt scheduled), then POSTed
    with no transaction or lock open, so a slow receiver holds nothing up. Another worker (or the
    sweep) meanwhile finds it not due; a worker that dies mid-POST leaves it due again later.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("endpoint")
            .filter(Q(attempts=0) | Q(next_attempt_at__lte=now), pk=delivery_pk, status=WebhookStatus.PENDING)
            .first()
        )
        if delivery is None:
            return "skipped"  # delivered, given up, not due, or another worker has it
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(minutes=min(60, 2 ** (delivery.attempts - 1)))
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    endpoint = delivery.endpoint
    error = _post(endpoint, delivery)
    if not error:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookStatus.DELIVERED, delivered_at=timezone.now(), last_error="")
        return "delivered"
    logger.warning("webhook %s to %s failed (attempt %d): %s", delivery.pk, endpoint.name, delivery.attempts, error)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        last_error=error[:500],
        status=WebhookStatus.FAILED if delivery.attempts >= MAX_ATTEMPTS else WebhookStatus.PENDING)
    return "failed"


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> str:
    """POST the delivery's body, signed; returns "" on a 2xx answer, else what went wrong."""
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - managers configure http(s) endpoint URLs
        endpoint.url, data=delivery.body.encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "PrivacyDesk-Webhook/1",
                 "X-Privacy-Desk-Event": delivery.event, "X-Privacy-Desk-Delivery": str(delivery.pk),
                 "X-Privacy-Desk-Timestamp": timestamp,
                 "X-Privacy-Desk-Signature": signature(endpoint.secret, timestamp, delivery.body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def due_deliveries(limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due (the sweep's work)."""
    return list(WebhookDelivery.objects.filter(status=WebhookStatus.PENDING, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
