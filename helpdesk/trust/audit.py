"""Writing the audit trail: append-only events, hash-chained per ticket.

Each event's hash covers its content and the previous event's hash, so editing or removing a
row breaks the chain (``manage.py verify_audit`` finds it). Callers hold the ticket's row lock,
which keeps a ticket's chain linear; ticket-less events retry on the unique ``seq``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from helpdesk.models import AuditEvent, Ticket, User

SYSTEM_ACTOR = "system"

# Sent with ``events=[AuditEvent, ...]`` once ticket events are saved (inside the transaction).
# ``notifications`` subscribes (webhooks) in its AppConfig.ready(); the audit trail knows no subscriber.
ticket_events_recorded = Signal()


def announce(events: list[AuditEvent]) -> None:
    """Tell subscribers about saved ticket events (bulk writers call this once per batch)."""
    if events:
        ticket_events_recorded.send(sender=AuditEvent, events=events)


def actor_label(actor: User | None, fallback: str = SYSTEM_ACTOR) -> str:
    return f"{actor.username} ({actor})" if actor is not None else fallback


def event_hash(event: AuditEvent) -> str:
    payload = {
        "prev": event.prev_hash,
        "ticket": event.ticket_reference,
        "seq": event.seq,
        "actor": event.actor_label,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "data": event.data,
        "at": event.at.isoformat(),
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    *,
    ticket: Ticket | None,
    actor: User | None,
    action: str,
    from_state: str = "",
    to_state: str = "",
    data: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    if ticket is not None:
        # Callers hold the ticket's row lock (or just created it): its chain cannot fork.
        return _append(ticket, actor, action, from_state, to_state, data or {}, actor_name)
    for _attempt in range(5):
        try:
            with transaction.atomic():  # desk-wide chain: a racing writer takes the same seq → retry
                return _append(ticket, actor, action, from_state, to_state, data or {}, actor_name)
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the audit chain")


def _append(
    ticket: Ticket | None,
    actor: User | None,
    action: str,
    from_state: str,
    to_state: str,
    data: dict[str, Any],
    actor_name: str | None,
) -> AuditEvent:
    chain = AuditEvent.objects.filter(ticket=ticket) if ticket else AuditEvent.objects.filter(ticket__isnull=True)
    last = chain.order_by("-seq").values("seq", "hash").first()
    event = build_event(
        ticket=ticket, actor=actor, action=action, from_state=from_state, to_state=to_state, data=data,
        actor_name=actor_name, after=(last["seq"], last["hash"]) if last else None,
    )
    event.save()
    if ticket is not None:
        announce([event])
    return event


def build_event(
    *,
    ticket: Ticket | None,
    actor: User | None,
    action: str,
    after: tuple[int, str] | None,
    from_state: str = "",
    to_state: str = "",
    data: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """The next event of a chain whose last event is ``after`` (seq, hash), or the first; unsaved.

    For writers that insert many events at once (mail intake); they hold the tickets' row locks.
    """
    event = AuditEvent(
        ticket=ticket,
        ticket_reference=ticket.reference if ticket else "",
        actor=actor,
        actor_label=actor_label(actor, actor_name or SYSTEM_ACTOR),
        action=action,
        from_state=from_state,
        to_state=to_state,
        data=json.loads(json.dumps(data or {}, default=str)),
        at=timezone.now(),
        seq=(after[0] + 1) if after else 1,
        prev_hash=after[1] if after else "",
    )
    event.hash = event_hash(event)
    return event
