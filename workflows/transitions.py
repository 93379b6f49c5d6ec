"""The transition registry: everything about each state-machine transition, in one entry.

An entry says where the transition runs from and to, its label (English msgid; Korean in the
catalog), its place on the desk's ticket page, whether a requester may run it (staff always may,
subject to :func:`workflows.roles.can_act_on_ticket`), the data it needs (fields the desk forms
and the API are built from, checked by :meth:`TransitionSpec.clean`), its guards, what it does
to the ticket's own fields (``apply``) and its side effects (names of :class:`Effect`, carried
out by ``helpdesk.services.transitions``).

Readers: the django-fsm methods (``workflows.state_machine``), the services, the desk forms and
the API schema. Adding a transition is one entry here plus its test. Other apps add guards with
:func:`add_guard` from their ``AppConfig.ready()``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from workflows.sla import record_answer
from workflows.states import RejectionReason, TicketState, VerificationMethod

S = TicketState
ACTIVE = (S.RECEIVED, S.VERIFIED, S.PROCESSED, S.AWAITING_REQUESTER)


class InvalidTransitionData(Exception):
    """The data does not satisfy the transition; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Effect(enum.Enum):
    """Side effects outside the ticket's own fields, in the order an entry lists them."""

    PAUSE_CLOCK = "pause_clock"  # the legal clock stops while we wait for the requester
    RESUME_CLOCK = "resume_clock"  # a paused clock restarts; the deadline moves by the days waited
    CLEAR_PAUSE = "clear_pause"  # a withdrawn ticket simply stops waiting
    MAIL_QUESTION = "mail_question"  # the question goes to the requester (counts as a first response)
    MAIL_REJECTION = "mail_rejection"  # the reasoned refusal is mailed: it is the answer
    MAIL_WITHDRAWAL = "mail_withdrawal"  # the requester is told the request was withdrawn
    MAIL_RESULT_NOTICE = "mail_result_notice"  # the statutory result notice (PDF) goes to the requester


@dataclass(frozen=True)
class DataField:
    """One piece of data a transition takes: rendered by the desk form, accepted by the API."""

    name: str
    label: StrOrPromise
    required_message: StrOrPromise | None = None  # None: optional
    choices: Sequence[tuple[str, Any]] | None = None  # a choice among these values
    rows: int = 3
    help_text: StrOrPromise = ""
    max_length: int = 10_000


@dataclass(frozen=True)
class Guard:
    """A condition the ticket must meet; unmet, ``message`` is shown against ``field``.

    ``hides``: the desk does not even offer the transition while the guard fails.
    """

    check: Callable[[Any], bool]
    field: str
    message: StrOrPromise
    hides: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    label: StrOrPromise
    order: int
    source: tuple[str, ...]
    target: str | tuple[str, ...]  # a tuple: ``apply`` returns which one (django-fsm RETURN_VALUE)
    apply: Callable[..., str | None]
    requester: bool = False
    fields: tuple[DataField, ...] = ()
    check: Callable[[dict[str, Any], dict[str, str]], None] | None = None  # cross-field rules
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    # Run only through its own operation (``merge`` needs the ticket that stays: merging service,
    # desk merge form, API ``merge/``), never through the generic transition form or endpoint.
    own_operation: bool = False

    def clean(self, data: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments for ``apply`` from raw data; raises :class:`InvalidTransitionData`."""
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        for item in self.fields:
            value = str(data.get(item.name) or "")
            if item.choices is not None and value and value not in {v for v, _label in item.choices}:
                errors[item.name] = str(item.required_message or _("Choose one of the options."))
            elif item.required_message is not None and not value.strip():
                errors[item.name] = str(item.required_message)
            clean[item.name] = value
        if self.check is not None:
            self.check(clean, errors)
        if errors:
            raise InvalidTransitionData(errors)
        return clean

    def failed_guards(self, ticket: Any) -> dict[str, str]:
        """Messages of the guards (this entry's and those other apps added) the ticket fails."""
        guards = (*self.guards, *_extra_guards.get(self.name, ()))
        return {g.field: str(g.message) for g in guards if not g.check(ticket)}

    def targets(self) -> tuple[str, ...]:
        return self.target if isinstance(self.target, tuple) else (self.target,)


# --- What each transition does to the ticket's own fields ----------------------------------------
def mark_answered(ticket: Any) -> None:
    """The request got its answer (a response or a reasoned refusal): the clock stops."""
    now = timezone.now()
    ticket.responded_at = now
    ticket.closed_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    record_answer(ticket, now)


def _verify(ticket: Any, *, verification_method: str, note: str = "") -> None:
    ticket.verified_at = timezone.now()
    ticket.verification_method = verification_method
    ticket.verification_note = note


def _request_info(ticket: Any, *, question: str) -> None:
    ticket.resume_state = ticket.state


def _resume(ticket: Any) -> str:
    target = ticket.resume_state or S.RECEIVED
    ticket.resume_state = ""
    return str(target)


def _process(ticket: Any, *, note: str) -> None:
    ticket.processed_at = timezone.now()


def _respond(ticket: Any, *, withheld: str = "", withheld_reason: str = "") -> None:
    mark_answered(ticket)


def _reject(ticket: Any, *, reason: str, explanation: str) -> None:
    ticket.rejection_reason = reason
    mark_answered(ticket)


def _withdraw(ticket: Any, *, reason: str = "") -> None:
    ticket.closed_at = timezone.now()


def _reopen(ticket: Any, *, reason: str = "") -> str:
    ticket.closed_at = None
    return str(S.VERIFIED if ticket.verified_at else S.RECEIVED)


def _merge(ticket: Any) -> None:
    """The duplicate ends here; ``merged_into`` was set by ``helpdesk.services.merging`` (guarded)."""
    ticket.closed_at = timezone.now()
    ticket.resume_state = ""


def _other_needs_note(data: dict[str, Any], errors: dict[str, str]) -> None:
    if data.get("verification_method") == VerificationMethod.OTHER and not data.get("note", "").strip():
        errors["note"] = str(_("Describe how identity was verified."))


def _withheld_needs_reason(data: dict[str, Any], errors: dict[str, str]) -> None:
    """Partial access (Decree 42(1)): what is withheld and on which ground go together."""
    if data.get("withheld", "").strip() and not data.get("withheld_reason"):
        errors["withheld_reason"] = str(_("Choose the legal reason for withholding part of the information."))
    if data.get("withheld_reason") and not data.get("withheld", "").strip():
        errors["withheld"] = str(_("Say which information is withheld."))


REASON = DataField("reason", _("Reason"), rows=2)

REGISTRY: dict[str, TransitionSpec] = {spec.name: spec for spec in (
    TransitionSpec(
        "verify", _("Verify identity"), order=10, source=(S.RECEIVED, S.AWAITING_REQUESTER), target=S.VERIFIED,
        apply=_verify, requester=True,
        fields=(
            DataField("verification_method", _("How was identity verified?"),
                      required_message=_("Say how the requester's identity was verified."),
                      choices=VerificationMethod.choices),
            DataField("note", _("Verification note"), rows=2, help_text=_("Required when the method is “Other”.")),
        ),
        check=_other_needs_note,
        guards=(Guard(lambda t: not t.awaiting_guardian(), "guardian",
                      _("The requester is under 14: the legal guardian has not confirmed yet.")),),
    ),
    TransitionSpec(
        "process", _("Mark processed"), order=20, source=(S.VERIFIED,), target=S.PROCESSED, apply=_process,
        fields=(DataField("note", _("What was done to carry out the request?"),
                          required_message=_("Record what was done to carry out the request.")),),
    ),
    TransitionSpec(
        "respond", _("Mark responded"), order=30, source=(S.PROCESSED,), target=S.RESPONDED, apply=_respond,
        fields=(
            DataField("withheld", _("Access only: information withheld from the requester (partial access)"),
                      rows=2, help_text=_("Leave empty when everything was given. Named in the access notice.")),
            DataField("withheld_reason", _("Access only: legal reason for withholding it"),
                      choices=RejectionReason.choices, max_length=200),
        ),
        check=_withheld_needs_reason,
        guards=(Guard(lambda t: t.has_outbound_reply(), "reply",
                      _("Send the answer to the requester before marking the ticket responded."), hides=True),),
        effects=(Effect.MAIL_RESULT_NOTICE,),
    ),
    TransitionSpec(
        "request_info", _("Ask the requester"), order=40, source=(S.RECEIVED, S.VERIFIED, S.PROCESSED),
        target=S.AWAITING_REQUESTER, apply=_request_info,
        fields=(DataField("question", _("What must the requester send? (mailed to them)"), rows=4,
                          required_message=_("Write what the requester must send.")),),
        effects=(Effect.PAUSE_CLOCK, Effect.MAIL_QUESTION),
    ),
    TransitionSpec(
        "resume", _("Resume"), order=50, source=(S.AWAITING_REQUESTER,),
        target=(S.RECEIVED, S.VERIFIED, S.PROCESSED), apply=_resume, requester=True,
        effects=(Effect.RESUME_CLOCK,),
    ),
    TransitionSpec(
        "reopen", _("Reopen"), order=60, source=(S.RESPONDED, S.REJECTED), target=(S.RECEIVED, S.VERIFIED),
        apply=_reopen, requester=True, fields=(REASON,),
    ),
    TransitionSpec(
        "reject", _("Reject"), order=70, source=ACTIVE, target=S.REJECTED, apply=_reject,
        fields=(
            DataField("reason", _("Legal reason"), required_message=_("Choose the legal reason for the refusal."),
                      choices=RejectionReason.choices, max_length=200),
            DataField("explanation", _("Explanation to the requester (mailed to them)"), rows=4,
                      required_message=_("Explain the refusal to the requester.")),
        ),
        effects=(Effect.RESUME_CLOCK, Effect.MAIL_REJECTION),
    ),
    TransitionSpec(
        "withdraw", _("Withdraw"), order=80, source=ACTIVE, target=S.WITHDRAWN, apply=_withdraw, requester=True,
        fields=(REASON,), effects=(Effect.CLEAR_PAUSE, Effect.MAIL_WITHDRAWAL),
    ),
    TransitionSpec(
        "merge", _("Merge into another ticket"), order=90, source=ACTIVE, target=S.MERGED, apply=_merge,
        guards=(Guard(lambda t: t.merged_into_id is not None and t.merged_into_id != t.pk, "into",
                      _("Choose the ticket this one is merged into."), hides=True),),
        effects=(Effect.CLEAR_PAUSE,), own_operation=True,
    ),
)}

NAMES: tuple[str, ...] = tuple(sorted(REGISTRY, key=lambda name: REGISTRY[name].order))
# What the generic transition form and API endpoint offer (not those with their own operation).
GENERIC_NAMES: tuple[str, ...] = tuple(name for name in NAMES if not REGISTRY[name].own_operation)

_extra_guards: dict[str, list[Guard]] = {}


def add_guard(name: str, guard: Guard) -> None:
    """Another app's condition on a transition (e.g. fulfilment before ``process``)."""
    if name not in REGISTRY:
        raise KeyError(name)
    if guard not in _extra_guards.setdefault(name, []):
        _extra_guards[name].append(guard)


def get(name: str) -> TransitionSpec | None:
    return REGISTRY.get(name)


def describe() -> str:
    """A line per transition with the fields it needs: for the API's OpenAPI description."""
    lines = []
    for name in GENERIC_NAMES:
        spec = REGISTRY[name]
        needs = ", ".join(f"{f.name}{'' if f.required_message else ' (optional)'}" for f in spec.fields) or "none"
        guards = "; ".join(str(g.message) for g in spec.guards)
        lines.append(f"`{name}`: {needs}{f' — {guards}' if guards else ''}")
    return "; ".join(lines)
