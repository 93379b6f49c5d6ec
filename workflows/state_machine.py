"""The ticket state machine (django-fsm-2).

Transitions only change the ticket's own fields; side effects (audit, mail, deadline pauses)
happen in :mod:`helpdesk.services`, which is the only caller. ``custom["requester"]`` marks the
transitions a requester (or the desk acting for one, e.g. on an inbound reply) may trigger.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from helpdesk.roles import can_act_on_ticket
from workflows.states import RejectionReason, TicketState, VerificationMethod

S = TicketState
ACTIVE = [S.RECEIVED, S.VERIFIED, S.PROCESSED, S.AWAITING_REQUESTER]


def staff_may_act(instance: Any, user: Any) -> bool:
    return can_act_on_ticket(user, instance)


def reply_was_sent(instance: Any) -> bool:
    """``respond`` needs an answer that actually went (or is going) out to the requester."""
    return bool(instance.has_outbound_reply())


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

    def mark_answered(self) -> None:
        """The request got its answer (a response or a reasoned refusal): the clock stops."""
        from workflows.sla import record_answer

        now = timezone.now()
        self.responded_at = now
        self.closed_at = now
        if self.first_response_at is None:
            self.first_response_at = now
        record_answer(self, now)

    # Each transition returns nothing of interest; services pass data and record the audit.
    @transition(field=state, source=[S.RECEIVED, S.AWAITING_REQUESTER], target=S.VERIFIED,
                permission=staff_may_act, custom={"requester": True, "label": "Verify identity"})
    def verify(self, *, verification_method: str, note: str = "") -> None:
        self.verified_at = timezone.now()
        self.verification_method = verification_method
        self.verification_note = note

    @transition(field=state, source=[S.RECEIVED, S.VERIFIED, S.PROCESSED], target=S.AWAITING_REQUESTER,
                permission=staff_may_act, custom={"label": "Ask the requester"})
    def request_info(self, *, question: str) -> None:
        self.resume_state = self.state

    @transition(field=state, source=S.AWAITING_REQUESTER,
                target=RETURN_VALUE(S.RECEIVED, S.VERIFIED, S.PROCESSED),
                permission=staff_may_act, custom={"requester": True, "label": "Resume"})
    def resume(self) -> str:
        target = self.resume_state or S.RECEIVED
        self.resume_state = ""
        return target

    @transition(field=state, source=S.VERIFIED, target=S.PROCESSED,
                permission=staff_may_act, custom={"label": "Mark processed"})
    def process(self, *, note: str) -> None:
        self.processed_at = timezone.now()

    @transition(field=state, source=S.PROCESSED, target=S.RESPONDED, conditions=[reply_was_sent],
                permission=staff_may_act, custom={"label": "Mark responded"})
    def respond(self) -> None:
        self.mark_answered()

    @transition(field=state, source=ACTIVE, target=S.REJECTED,
                permission=staff_may_act, custom={"label": "Reject"})
    def reject(self, *, reason: str, explanation: str) -> None:
        self.rejection_reason = reason
        self.mark_answered()

    @transition(field=state, source=ACTIVE, target=S.WITHDRAWN,
                permission=staff_may_act, custom={"requester": True, "label": "Withdraw"})
    def withdraw(self, *, reason: str = "") -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=[S.RESPONDED, S.REJECTED],
                target=RETURN_VALUE(S.RECEIVED, S.VERIFIED),
                permission=staff_may_act, custom={"requester": True, "label": "Reopen"})
    def reopen(self, *, reason: str = "") -> str:
        self.closed_at = None
        return S.VERIFIED if self.verified_at else S.RECEIVED
