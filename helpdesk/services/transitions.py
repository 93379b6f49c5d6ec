"""Running a state-machine transition: permission, data, guards, side effects, audit.

What each transition needs and does is declared once in :mod:`workflows.transitions`; this module
carries it out and implements each declared :class:`~workflows.transitions.Effect`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from helpdesk.models import MessageKind, Ticket, User
from helpdesk.services.errors import GuardError, PermissionDeniedError, TransitionNotAllowedError
from helpdesk.services.locking import bump, lock_for_staff, lock_ticket
from helpdesk.services.notices import attach_if_due, queue_outcome_notice
from helpdesk.trust import audit
from notifications import services as notify
from workflows import sla
from workflows import transitions as registry
from workflows.notices import Outcome
from workflows.transitions import Effect

TRANSITIONS = registry.GENERIC_NAMES


@transaction.atomic
def transition_ticket(
    *,
    ticket: Ticket,
    name: str,
    actor: User | None,
    expected_version: int | None = None,
    as_requester: bool = False,
    **data: Any,
) -> Ticket:
    """Run one state-machine transition with its permission, guard, side effects and audit."""
    spec = registry.get(name)
    if spec is None:
        raise TransitionNotAllowedError(_("Unknown transition '%(name)s'.") % {"name": name})
    if spec.own_operation:  # merge: helpdesk.services.merging, with the ticket that stays
        raise TransitionNotAllowedError(_("'%(name)s' has its own action on the ticket page and in the API.")
                                        % {"name": name})
    if as_requester:
        locked = lock_ticket(ticket, expected_version)
    else:
        if actor is None:
            raise PermissionDeniedError(_("Sign in to act on tickets."))
        locked = lock_for_staff(ticket, actor, expected_version)
    run_transition(locked, name, actor=actor, as_requester=as_requester, data=data)
    ticket.refresh_from_db()
    return locked


def run_transition(ticket: Ticket, name: str, *, actor: User | None, as_requester: bool,
                   data: dict[str, Any], audit_extra: dict[str, Any] | None = None) -> None:
    """The transition on a ticket whose row lock the caller holds.

    ``audit_extra``: what the calling service adds to the audit event (merge: the ticket that stays).
    """
    spec = registry.REGISTRY[name]
    method = getattr(ticket, name)
    meta = method._django_fsm
    if meta.get_transition(ticket.state) is None:
        raise TransitionNotAllowedError(
            _("'%(name)s' is not possible while the ticket is %(state)s.")
            % {"name": name, "state": ticket.get_state_display()}
        )
    if as_requester:
        if not spec.requester:
            raise PermissionDeniedError(_("A requester cannot '%(name)s'.") % {"name": name})
    elif not meta.has_transition_perm(ticket, ticket.state, actor):  # permission only; guards below
        raise PermissionDeniedError(_("Only the assigned administrator or a manager can do this."))
    try:
        clean = spec.clean(data)
    except registry.InvalidTransitionData as exc:
        raise GuardError(exc.errors) from exc
    if failed := spec.failed_guards(ticket):
        raise GuardError(failed)
    from_state = ticket.state
    try:
        method(**clean)
    except TransitionNotAllowed as exc:  # pragma: no cover - checked above, kept for safety
        raise TransitionNotAllowedError(str(exc)) from exc
    now = timezone.now()
    for effect in spec.effects:
        EFFECTS[effect](ticket, actor, clean, now)
    bump(ticket)
    audit.record_event(
        ticket=ticket, actor=actor,
        actor_name=f"requester <{ticket.requester.email}>" if as_requester and actor is None else None,
        action=f"transition.{name}", from_state=from_state, to_state=ticket.state,
        data={**clean, **(audit_extra or {})},
    )


# --- The side effects the registry names --------------------------------------------------------
def _pause_clock(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    ticket.paused_at = now


def _resume_clock(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    if ticket.paused_at is not None:
        resumed = sla.resume_clock(ticket, now)
        audit.record_event(ticket=ticket, actor=None, action="sla.clock_resumed", data=resumed)


def _clear_pause(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    ticket.paused_at = None


def _mail_question(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    notify.queue_outbound_message(ticket=ticket, body_text=data["question"], kind=MessageKind.REPLY, author=actor)
    if ticket.first_response_at is None:
        ticket.first_response_at = now


def _mail_rejection(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    message = notify.queue_rejection_notice(ticket=ticket, reason=data["reason"], explanation=data["explanation"],
                                            author=actor)
    attach_if_due(ticket=ticket, outcome=Outcome.REFUSED, message=message, actor=actor, now=now,
                  reason=data["reason"], explanation=data["explanation"])


def _mail_withdrawal(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    notify.queue_withdrawal_notice(ticket=ticket)


def _mail_result_notice(ticket: Ticket, actor: User | None, data: dict[str, Any], now: datetime) -> None:
    queue_outcome_notice(ticket=ticket, actor=actor, now=now, withheld=data.get("withheld", ""),
                         withheld_reason=data.get("withheld_reason", ""))


EFFECTS: dict[Effect, Callable[[Ticket, User | None, dict[str, Any], datetime], None]] = {
    Effect.PAUSE_CLOCK: _pause_clock,
    Effect.RESUME_CLOCK: _resume_clock,
    Effect.CLEAR_PAUSE: _clear_pause,
    Effect.MAIL_QUESTION: _mail_question,
    Effect.MAIL_REJECTION: _mail_rejection,
    Effect.MAIL_WITHDRAWAL: _mail_withdrawal,
    Effect.MAIL_RESULT_NOTICE: _mail_result_notice,
}
assert set(EFFECTS) == set(Effect), "every declared effect has its implementation"
