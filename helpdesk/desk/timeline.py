"""The ticket timeline's audit events as sentences in the reader's language, with people's names.

One table, :data:`SENTENCES`: audit event kind → the sentence a person reads. Adding an event kind
anywhere in the code means adding its row here (``tests/desk/test_timeline_sentences.py`` finds every
kind the code records and fails on one without a sentence). Other apps may add rows with
:func:`add_sentence` from their ``AppConfig.ready()``.

A sentence is a ``%``-format msgid. It may use ``%(actor)s`` (the person who did it: their name, "the
requester", or the desk itself) and the keys its ``params`` function returns from the event's data.
``automatic`` is the wording when no person did it (the desk did, on its own): Korean needs no
subject then, rather than an awkward "시스템 님이".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_stubs_ext import StrOrPromise

from helpdesk.models import AuditEvent, Channel, GivenBy, User
from workflows.notices import NoticeKind
from workflows.request_types import RequestType
from workflows.states import RejectionReason, TicketState, VerificationMethod


@dataclass(frozen=True)
class Sentence:
    by_person: StrOrPromise
    automatic: StrOrPromise | None = None
    params: Callable[[dict[str, Any], Names], dict[str, Any]] | None = None


class Names:
    """Usernames in events' data → the people's names (one query for a whole timeline)."""

    def __init__(self, usernames: Iterable[str]) -> None:
        wanted = {u for u in usernames if u}
        self._names = {u.username: str(u) for u in User.objects.filter(username__in=wanted)} if wanted else {}

    def __call__(self, username: str | None) -> str:
        if not username:
            return _("nobody")
        return self._names.get(username, username)


def _label(choices: Any, value: Any) -> str:
    return str(choices(value).label) if value in choices.values else str(value or "—")


def _task(data: dict[str, Any], names: Names) -> dict[str, Any]:
    when = _("overdue") if data.get("kind") == "overdue" else _("due soon")
    return {"number": data.get("number", "?"), "contact": data.get("contact") or data.get("email", ""),
            "email": data.get("email", ""), "due": data.get("due", ""), "note": data.get("note", ""), "when": when}


def _assigned(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"to": names(data.get("to")), "previous": names(data.get("from"))}


def _reclassified(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"from": _label(RequestType, data.get("from")), "to": _label(RequestType, data.get("to"))}


def _verified(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"method": _label(VerificationMethod, data.get("verification_method"))}


def _rejected(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"reason": _label(RejectionReason, data.get("reason"))}


def _table(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"table": f"{data.get('source', '?')} / {data.get('table', '?')}", "rows": data.get("affected") or 0,
            "error": data.get("error") or ""}


def _count(key: str) -> Callable[[dict[str, Any], Names], dict[str, Any]]:
    return lambda data, names: {"count": len(data.get(key) or [])}


def _filename(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"filename": data.get("filename") or "—"}


def _notice(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"notice": _label(NoticeKind, data.get("kind"))}


def _fee(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"fee": data.get("fee", 0), "postage": data.get("postage", 0)}


def _given(data: dict[str, Any], names: Names) -> dict[str, Any]:
    given = parse_datetime(str(data.get("given_at") or ""))
    return {"how": _label(GivenBy, data.get("method")),
            "when": date_format(localtime(given), "DATETIME_FORMAT") if given else "—"}


def _party(data: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"email": data.get("email") or "—", "name": data.get("subject_name") or "—"}


def _merge(data: dict[str, Any], names: Names) -> dict[str, Any]:
    due = parse_datetime(str(data.get("due_after") or ""))
    return {"into": data.get("into") or "—", "duplicate": data.get("duplicate") or data.get("from") or "—",
            "messages": data.get("messages") or 0, "participants": data.get("participants") or 0,
            "other": data.get("other") or "—", "due": date_format(localtime(due), "DATE_FORMAT") if due else "—"}


# A request staff typed in says how it came (issue 26): "Phone request entered by Park Moonwon."
ENTERED: dict[str, StrOrPromise] = {
    Channel.PHONE: _lazy("Phone request entered by %(actor)s."),
    Channel.LETTER: _lazy("Letter entered by %(actor)s."),
    Channel.FAX: _lazy("Fax entered by %(actor)s."),
    Channel.VISIT: _lazy("Request made in person, entered by %(actor)s."),
}
_ENTERED_OTHER = _lazy("Request entered by %(actor)s.")


SENTENCES: dict[str, Sentence] = {
    # The ticket
    "ticket.created": Sentence(_lazy("%(actor)s opened the ticket."), _lazy("The ticket was opened.")),
    "ticket.viewed": Sentence(_lazy("%(actor)s read the ticket.")),
    "ticket.assigned": Sentence(_lazy("%(actor)s assigned the ticket to %(to)s."),
                                _lazy("The ticket was assigned to %(to)s automatically."), _assigned),
    "ticket.reclassified": Sentence(_lazy("%(actor)s changed the request type from %(from)s to %(to)s."),
                                    params=_reclassified),
    "message.received": Sentence(_lazy("A message from the requester arrived.")),
    "message.auto_received": Sentence(_lazy("An automatic reply arrived (not counted as the requester's).")),
    "message.raw_downloaded": Sentence(_lazy("%(actor)s downloaded the original message (.eml).")),
    "attachment.downloaded": Sentence(_lazy("%(actor)s downloaded an attachment (%(filename)s)."),
                                      params=_filename),
    "reply.sent": Sentence(_lazy("%(actor)s sent a reply to the requester."), _lazy("A reply was sent.")),
    "note.added": Sentence(_lazy("%(actor)s added an internal note.")),
    "delivery.bounced": Sentence(_lazy("Our mail to the requester bounced: see the note below."),
                                 _lazy("Our mail to the requester bounced: see the note below.")),
    "intake.review_flagged": Sentence(_lazy("Intake asks a person to check this mail: see the note below."),
                                      _lazy("Intake asks a person to check this mail: see the note below.")),
    "mail.quarantined": Sentence(_lazy("A message could not be filed and was quarantined."),
                                 _lazy("A message could not be filed and was quarantined.")),
    "quarantine.converted": Sentence(_lazy("%(actor)s opened this ticket from a quarantined message.")),
    "quarantine.attached": Sentence(_lazy("%(actor)s added a quarantined message to this ticket.")),
    "quarantine.discarded": Sentence(_lazy("%(actor)s discarded a quarantined message.")),
    # The workflow: one row per transition of workflows.transitions
    "transition.verify": Sentence(_lazy("%(actor)s verified the requester's identity (%(method)s)."),
                                  params=_verified),
    "transition.process": Sentence(_lazy("%(actor)s carried out the request and marked it processed.")),
    "transition.respond": Sentence(_lazy("%(actor)s marked the ticket responded: the requester has the answer.")),
    "transition.request_info": Sentence(_lazy("%(actor)s asked the requester for more; the clock is paused.")),
    "transition.resume": Sentence(_lazy("%(actor)s answered; the clock runs again."),
                                  _lazy("The clock runs again.")),
    "transition.reopen": Sentence(_lazy("%(actor)s reopened the ticket.")),
    "transition.reject": Sentence(_lazy("%(actor)s refused the request (%(reason)s)."), params=_rejected),
    "transition.withdraw": Sentence(_lazy("%(actor)s withdrew the request.")),
    "transition.merge": Sentence(_lazy("%(actor)s merged this ticket into %(into)s: its messages, files and "
                                       "participants are there now."), params=_merge),
    # Merging and links (issue 26)
    "ticket.merged_in": Sentence(_lazy("%(actor)s merged %(duplicate)s into this ticket (%(messages)s messages, "
                                       "%(participants)s participants); its history is shown here too."),
                                 params=_merge),
    "sla.deadline_from_merge": Sentence(_lazy("The merge moved the deadline to %(due)s, the earlier one of "
                                              "%(duplicate)s."), params=_merge),
    "ticket.linked": Sentence(_lazy("%(actor)s linked this ticket to %(other)s as related."), params=_merge),
    "ticket.unlinked": Sentence(_lazy("%(actor)s removed the link to %(other)s."), params=_merge),
    # Deadlines
    "sla.extended": Sentence(_lazy("%(actor)s extended the deadline; the requester was told why.")),
    "sla.clock_resumed": Sentence(_lazy("%(actor)s's answer restarted the clock."), _lazy("The clock runs again.")),
    "sla_policy.created": Sentence(_lazy("%(actor)s created a deadline policy.")),
    # The requester's side
    "requester.consent_given": Sentence(
        _lazy("%(actor)s agreed to the collection and use of their personal information for this request.")),
    "requester.email_confirmed": Sentence(_lazy("%(actor)s confirmed their e-mail address.")),
    "requester.guardian_confirmed": Sentence(_lazy("%(actor)s, the legal guardian, confirmed the request.")),
    # Carrying the request out (issue 13)
    "fulfilment.lookup_started": Sentence(_lazy("%(actor)s started looking up the requester's personal data.")),
    "fulfilment.lookup_retried": Sentence(_lazy("%(actor)s asked the sources that failed again.")),
    "fulfilment.lookup_finished": Sentence(_lazy("The lookup of the requester's personal data finished."),
                                           _lazy("The lookup of the requester's personal data finished.")),
    "fulfilment.package_built": Sentence(_lazy("%(actor)s built the access package (%(count)s tables)."),
                                         params=_count("tables")),
    "fulfilment.package_reviewed": Sentence(_lazy("%(actor)s reviewed the access package's summary.")),
    "fulfilment.package_released": Sentence(_lazy("%(actor)s released the access package to the requester.")),
    "fulfilment.package_downloaded": Sentence(_lazy("%(actor)s downloaded the access package.")),
    "fulfilment.package_viewed": Sentence(_lazy("%(actor)s read the access package's summary on the status page.")),
    "fulfilment.erasure_previewed": Sentence(_lazy("%(actor)s previewed the erasure (%(count)s tables)."),
                                             params=_count("steps")),
    "fulfilment.erasure_approved": Sentence(_lazy("%(actor)s approved the erasure.")),
    "fulfilment.erasure_retried": Sentence(_lazy("%(actor)s retried the tables that failed.")),
    "fulfilment.table_erased": Sentence(_lazy("%(table)s: %(rows)s row(s) erased."),
                                        _lazy("%(table)s: %(rows)s row(s) erased."), _table),
    "fulfilment.table_failed": Sentence(_lazy("%(table)s could not be erased: %(error)s"),
                                        _lazy("%(table)s could not be erased: %(error)s"), _table),
    "fulfilment.erasure_finished": Sentence(_lazy("The erasure finished."), _lazy("The erasure finished.")),
    "fulfilment.erasure_reported": Sentence(
        _lazy("%(actor)s sent the requester what was erased and what is kept by law.")),
    "fulfilment.done_by_hand": Sentence(_lazy("%(actor)s recorded that the request was carried out by hand.")),
    # Channels and parties (issue 26)
    "message.given_by_hand": Sentence(_lazy("%(actor)s recorded a notice given by %(how)s on %(when)s."),
                                      params=_given),
    "representation.recorded": Sentence(_lazy("The request was made on behalf of %(name)s."),
                                        _lazy("The request was made on behalf of %(name)s."), _party),
    "representation.checked": Sentence(
        _lazy("%(actor)s checked the representative's authority and the data subject's identity.")),
    "participant.added": Sentence(_lazy("%(actor)s added %(email)s: they receive the answers from now on."),
                                  params=_party),
    "participant.removed": Sentence(_lazy("%(actor)s removed %(email)s: they no longer receive the answers."),
                                    params=_party),
    # Tasks to departments, processors and providers (issue 26, point 6)
    "task.sent": Sentence(_lazy("%(actor)s sent task T%(number)s to %(contact)s, due %(due)s."), params=_task),
    "task.answered": Sentence(_lazy("%(email)s answered task T%(number)s; the task is closed."),
                              _lazy("%(email)s answered task T%(number)s; the task is closed."), _task),
    "task.reply_received": Sentence(_lazy("%(email)s wrote again about task T%(number)s."),
                                    _lazy("%(email)s wrote again about task T%(number)s."), _task),
    "task.closed": Sentence(_lazy("%(actor)s closed task T%(number)s."), params=_task),
    "task.cancelled": Sentence(_lazy("%(actor)s cancelled task T%(number)s: %(note)s"), params=_task),
    "task.reminded": Sentence(_lazy("%(actor)s reminded %(email)s of task T%(number)s (%(when)s)."),
                              _lazy("%(email)s was reminded of task T%(number)s (%(when)s)."), _task),
    # Statutory notices, fees and the case record (issue 27)
    "notice.given": Sentence(_lazy("%(actor)s gave the statutory notice: %(notice)s."),
                             _lazy("The statutory notice was given: %(notice)s."), _notice),
    "fee.quoted": Sentence(_lazy("%(actor)s quoted a fee of %(fee)s won and postage of %(postage)s won."),
                           params=_fee),
    "record.exported": Sentence(_lazy("%(actor)s exported the case record (PDF).")),
    # After an erasure and a reclassification (issue 25)
    "fulfilment.copies_withdrawn": Sentence(
        _lazy("After an erasure, the lookup's records were redacted and released packages withdrawn."),
        _lazy("After an erasure, the lookup's records were redacted and released packages withdrawn.")),
    "ticket.verification_withdrawn": Sentence(
        _lazy("%(actor)s's change of request type needs stronger proof: identity must be checked again."),
        _lazy("The new request type needs stronger proof: identity must be checked again.")),
    # Records
    "erasure.performed": Sentence(_lazy("%(actor)s erased the requester's data kept by the desk.")),
    "erasure.minimised": Sentence(_lazy("%(actor)s reduced the ticket to what the law requires keeping."),
                                  _lazy("The ticket was reduced to what the law requires keeping.")),
    "retention.policy_changed": Sentence(_lazy("%(actor)s changed the retention policy.")),
    # Surge tools (issue 31): a bulk job's start and summary, on the desk-wide chain
    "bulk.started": Sentence(_lazy("%(actor)s started a bulk action on %(count)s tickets."),
                             params=lambda data, names: {"count": data.get("tickets", 0)}),
    "bulk.finished": Sentence(_lazy("A bulk action finished: %(done)s done, %(skipped)s skipped, %(failed)s failed."),
                              _lazy("A bulk action finished: %(done)s done, %(skipped)s skipped, %(failed)s failed."),
                              lambda data, names: {k: data.get(k, 0) for k in ("done", "skipped", "failed")}),
    # Staff accounts
    "staff.away": Sentence(_lazy("%(actor)s set themselves away.")),
    "staff.back": Sentence(_lazy("%(actor)s is back.")),
    "staff.password_changed": Sentence(_lazy("%(actor)s changed their password.")),
    "staff.password_reset": Sentence(_lazy("%(actor)s reset a staff member's password.")),
    "staff.otp_enrolled": Sentence(_lazy("%(actor)s set up two-factor sign-in.")),
    "staff.otp_verified": Sentence(_lazy("%(actor)s signed in with a one-time code.")),
    "staff.otp_failed": Sentence(_lazy("%(actor)s entered a wrong one-time code.")),
}

_STATE_CHANGE = Sentence(_lazy("%(actor)s moved the ticket from %(from)s to %(to)s."))
_UNKNOWN = Sentence(_lazy("%(actor)s: %(kind)s"))


def add_sentence(kind: str, sentence: Sentence) -> None:
    """Another app's event kind (from its ``AppConfig.ready()``)."""
    SENTENCES[kind] = sentence


def _actor(event: AuditEvent) -> str | None:
    """The person's name; None when the desk did it on its own."""
    if event.actor is not None:
        return str(event.actor)
    label = event.actor_label
    if label.startswith("requester"):
        return _("The requester")
    if label.startswith("guardian"):
        return _("The legal guardian")
    return None


def usernames(events: Iterable[AuditEvent]) -> set[str]:
    return {str(e.data.get(k)) for e in events for k in ("to", "from") if e.action == "ticket.assigned"
            and e.data.get(k)}


def describe(event: AuditEvent, names: Names) -> SafeString:
    """The event as one sentence (HTML-escaped; names and data are the only variable parts)."""
    sentence = SENTENCES.get(event.action)
    if sentence is None:
        sentence = _STATE_CHANGE if (event.from_state or event.to_state) else _UNKNOWN
    params: dict[str, Any] = {
        "kind": event.action,
        "from": _label(TicketState, event.from_state), "to": _label(TicketState, event.to_state),
    }
    if sentence.params is not None:
        params.update(sentence.params(event.data or {}, names))
    actor = _actor(event)
    if event.action == "ticket.created" and event.data.get("entered_by"):
        text = str(ENTERED.get(event.data.get("channel", ""), _ENTERED_OTHER))
        actor = actor if actor is not None else str(event.data["entered_by"])
    elif event.action == "ticket.assigned" and event.data.get("how") == "take":
        text = _("%(actor)s took the ticket.")
    elif event.action == "ticket.assigned" and not event.data.get("to"):
        text = _("%(actor)s unassigned the ticket.")
    elif actor is None and sentence.automatic is not None:
        text = str(sentence.automatic)
    else:
        text = str(sentence.by_person)
    params["actor"] = actor if actor is not None else _("Privacy Desk")
    return format_html(text.replace("{", "{{").replace("}", "}}").replace("%(", "{").replace(")s", "}"),
                       **params)


def annotate(events: list[AuditEvent]) -> None:
    """Give each event its ``sentence`` for the template (one query for the names in them)."""
    names = Names(usernames(events))
    for event in events:
        event.sentence = describe(event, names)  # type: ignore[attr-defined]
