"""The ticket page's "Next steps", in the order the work goes (issue 28, point 3).

One place decides what is offered and in which order, so the template only draws it:

- what the ticket needs next comes first (the workflow's forward step: verify → process → respond,
  or the fulfilment step an access or deletion request is waiting for);
- a step that cannot run yet is shown with the reason (its unmet guards), never as a form that fails;
- nothing already done is offered again (identity verified once stays verified while the ticket
  waits for the requester: "verify" is not offered, "resume" is).

Other parts of the desk add their own steps with :func:`add_step_source` (e.g. a case-record
action): a function of (ticket, user) returning :class:`Step` rows, merged by ``rank``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from helpdesk.fulfilment.selectors import Panel
from helpdesk.models import Ticket, User
from workflows import transitions as registry
from workflows.roles import can_act_on_ticket
from workflows.states import TicketState as S

# The workflow's forward order; the rest (ask, resume, reopen, refuse, withdraw) follow in registry order.
FORWARD = ("verify", "process", "respond")


@dataclass
class Step:
    name: str
    label: StrOrPromise
    rank: int  # lower comes first
    why_not: str = ""  # non-empty: cannot run yet, and this is why
    form: Any = None  # the transition's form (None for a pointer to another section)
    anchor: str = ""  # a pointer to the section of the page where the step is done, e.g. "#fulfilment"
    is_next: bool = False  # what the ticket needs next

    @property
    def runnable(self) -> bool:
        return not self.why_not


_step_sources: list[Callable[[Ticket, User], list[Step]]] = []


def add_step_source(source: Callable[[Ticket, User], list[Step]]) -> None:
    if source not in _step_sources:
        _step_sources.append(source)


def _already_done(ticket: Ticket, name: str) -> bool:
    """Work the ticket has behind it: offered again it would only repeat what the record shows."""
    return name == "verify" and ticket.verified_at is not None


def _candidate_transitions(ticket: Ticket, user: User) -> list[registry.TransitionSpec]:
    if not can_act_on_ticket(user, ticket):
        return []
    return [registry.REGISTRY[n] for n in registry.GENERIC_NAMES
            if ticket.state in registry.REGISTRY[n].source and not _already_done(ticket, n)]


def fulfilment_step(panel: Panel | None) -> Step | None:
    """The fulfilment work an access or deletion request waits for, pointing at its section."""
    if panel is None or not panel.may_act or panel.blocker is None:
        return None
    lookup, label = panel.lookup, ""
    if lookup is None or (not lookup.is_running and not lookup.is_complete):
        label = _("Find the requester's personal data")
    elif lookup.is_running and not lookup.is_stale:
        label = _("Wait for the lookup to finish")
    elif panel.kind == "access":
        label = _("Review and release the access package") if panel.package else _("Build the access package")
    elif panel.plan is None:
        label = _("Preview the erasure")
    elif panel.plan.status == "previewed":
        label = _("Approve the erasure")
    elif panel.plan.status == "partial":
        label = _("Retry the tables that failed")
    else:
        label = _("Wait for the erasure to finish")
    return Step(name="fulfilment", label=label, rank=15, anchor="#fulfilment")


def next_steps(ticket: Ticket, user: User, *, forms: dict[str, Any], panel: Panel | None) -> list[Step]:
    """The steps this user may take on this ticket, ordered; ``forms`` maps a transition to its form."""
    steps: list[Step] = []
    for spec in _candidate_transitions(ticket, user):
        failed = spec.failed_guards(ticket)
        rank = (FORWARD.index(spec.name) * 10 + 10) if spec.name in FORWARD else 100 + spec.order
        steps.append(Step(name=spec.name, label=spec.label, rank=rank, why_not=" ".join(failed.values()),
                          form=None if failed else forms.get(spec.name)))
    pointer = fulfilment_step(panel)
    if pointer is not None:
        steps.append(pointer)
    for source in _step_sources:
        steps += source(ticket, user)
    # Runnable steps first, each group in workflow order; what cannot run yet comes last, with why.
    steps.sort(key=lambda s: (not s.runnable, s.rank))
    forward = [s for s in steps if s.runnable and (s.name in FORWARD or s.anchor)]
    if forward:
        forward[0].is_next = True
    return steps


def waiting_after_verification(ticket: Ticket) -> bool:
    """Asked the requester something after their identity was checked: the data work waits for the answer."""
    return ticket.state == S.AWAITING_REQUESTER and ticket.verified_at is not None
