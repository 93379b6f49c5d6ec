"""The ticket state machine (django-fsm-2), built from the transition registry.

Each entry of :data:`workflows.transitions.REGISTRY` becomes a django-fsm transition method on
the ticket (``ticket.verify(...)``, ``ticket.reject(...)``…) with its sources, target, the staff
permission and the guards that hide it. Transitions only change the ticket's own fields; side
effects (audit, mail, deadline pauses) happen in ``helpdesk.services.transitions``, the only caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from workflows import transitions
from workflows.roles import can_act_on_ticket
from workflows.states import RejectionReason, TicketState, VerificationMethod

S = TicketState


def staff_may_act(instance: Any, user: Any) -> bool:
    return can_act_on_ticket(user, instance)


def _fsm_method(spec: transitions.TransitionSpec) -> Callable[..., Any]:
    def method(self: Any, **data: Any) -> str | None:
        return spec.apply(self, **data)

    method.__name__ = method.__qualname__ = spec.name
    method.__doc__ = f"{spec.label} (workflows.transitions.REGISTRY[{spec.name!r}])."
    target = RETURN_VALUE(*spec.target) if isinstance(spec.target, tuple) else spec.target
    return transition(
        field="state", source=list(spec.source), target=target, permission=staff_may_act,
        conditions=[g.check for g in spec.guards if g.hides],
        custom={"requester": spec.requester, "label": str(spec.label)},
    )(method)


class TicketWorkflowMixin(FSMModelMixin, models.Model):
    state = FSMField(default=S.RECEIVED, choices=S.choices, protected=True, db_index=False)
    # Where a paused or closed ticket returns to on resume/reopen.
    resume_state = models.CharField(max_length=24, choices=S.choices, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(max_length=24, choices=VerificationMethod.choices, blank=True)
    verification_note = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=32, choices=RejectionReason.choices, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Managers' figures, recorded when the answer goes out: seconds from receipt to the answer, and
    # active_seconds without the time paused awaiting the requester (when the policy pauses the
    # clock). Time to first response needs no field: no pause can precede the first response
    # (asking the requester *is* one). See workflows.sla.record_answer.
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    active_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def has_outbound_reply(self) -> bool:
        raise NotImplementedError

    def awaiting_guardian(self) -> bool:
        raise NotImplementedError


# django-fsm collects transition methods from the class's members when the concrete model is ready.
for _spec in transitions.REGISTRY.values():
    setattr(TicketWorkflowMixin, _spec.name, _fsm_method(_spec))
