"""Requests made on the data subject's behalf (PIPA Act Art. 38(1), Enforcement Decree Art. 45-46).

The ticket's requester is the representative: acknowledgements, replies and the status link go to
them. The representation row keeps who the data subject is, the relation and the power of
attorney; the subject is mailed that a request was made in their name, except for the request
types in :data:`SUBJECT_NOT_TOLD`. ``verify`` waits (a guard on the transition registry) until
the desk records how both the representative's authority and the subject's identity were checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import AuthorityCheck, Message, Relation, Representation, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.locking import bump, lock_for_staff
from helpdesk.services.messages import NewAttachment
from helpdesk.services.requesters import normalize_email
from helpdesk.trust import audit
from notifications import services as notify
from workflows.request_types import RequestType
from workflows.states import VerificationMethod

# A complaint made for someone (a counsellor or lawyer reporting misuse of the subject's data by
# someone close to them) is not announced at the subject's address: the person complained about
# may read that mailbox. The desk tells the subject by other means if it judges it safe.
SUBJECT_NOT_TOLD = frozenset({RequestType.COMPLAINT})


@dataclass(frozen=True)
class OnBehalfOf:
    """What a representative says about the person they act for."""

    relation: str
    subject_name: str
    relation_detail: str = ""
    subject_email: str = ""
    subject_phone: str = ""
    subject_birth_date: date | None = None
    power_of_attorney: NewAttachment | None = None


def check_on_behalf_of(on_behalf_of: OnBehalfOf) -> None:
    """Field errors for an incomplete representation (the same for the desk, the API and the form)."""
    errors: dict[str, str] = {}
    if on_behalf_of.relation not in Relation.values:
        errors["relation"] = _("Say how you are related to the person you act for.")
    if not on_behalf_of.subject_name.strip():
        errors["subject_name"] = _("Give the name of the person you act for.")
    if on_behalf_of.relation == Relation.DELEGATE and on_behalf_of.power_of_attorney is None:
        errors["power_of_attorney"] = _("A representative must submit the data subject's power of attorney "
                                        "(PIPA Enforcement Decree Art. 45(2)).")
    if errors:
        raise GuardError(errors)


def record_representation(*, ticket: Ticket, first_message: Message, on_behalf_of: OnBehalfOf,
                          actor: User | None = None) -> Representation:
    """Called by ``create_ticket`` in its transaction: the row, its audit event, the subject's notice."""
    check_on_behalf_of(on_behalf_of)
    power = None
    if on_behalf_of.power_of_attorney is not None:  # stored with the first message, like any inbound file
        digest = hashlib.sha256(on_behalf_of.power_of_attorney.data).hexdigest()
        power = first_message.attachments.filter(sha256=digest).order_by("-pk").first()
    subject_email = normalize_email(on_behalf_of.subject_email)
    representation = Representation.objects.create(
        ticket=ticket, relation=on_behalf_of.relation, relation_detail=on_behalf_of.relation_detail.strip()[:200],
        subject_name=on_behalf_of.subject_name.strip()[:200], subject_email=subject_email,
        subject_phone=on_behalf_of.subject_phone.strip()[:50], subject_birth_date=on_behalf_of.subject_birth_date,
        power_of_attorney=power,
    )
    told = bool(subject_email) and subject_email != ticket.requester.email and (
        ticket.request_type not in SUBJECT_NOT_TOLD)
    if told:
        representation.subject_notice = notify.queue_subject_notice(
            ticket=ticket, subject_email=subject_email, subject_name=representation.subject_name,
            relation=str(Relation(representation.relation).label))
        representation.save(update_fields=["subject_notice"])
    audit.record_event(ticket=ticket, actor=actor, actor_name=None if actor else "requester",
                       action="representation.recorded",
                       data={"relation": representation.relation, "subject_name": representation.subject_name,
                             "power_of_attorney": power.pk if power else None, "subject_told": told})
    return representation


@transaction.atomic
def check_representation(
    *, ticket: Ticket, actor: User, authority_check: str, subject_check: str, note: str = ""
) -> Representation:
    """Record how the representative's authority and the data subject's identity were checked."""
    locked = lock_for_staff(ticket, actor, expected_version=None)
    representation = Representation.objects.select_for_update().filter(ticket=locked).first()
    if representation is None:
        raise GuardError({"authority_check": _("This request was not made by a representative.")})
    errors: dict[str, str] = {}
    if authority_check not in AuthorityCheck.values:
        errors["authority_check"] = _("Say how the representative's authority was checked.")
    if subject_check not in VerificationMethod.values:
        errors["subject_check"] = _("Say how the data subject's identity was checked.")
    described = bool(note.strip())
    if not described and (authority_check == AuthorityCheck.OTHER or subject_check == VerificationMethod.OTHER):
        errors["check_note"] = _("Describe how it was checked.")
    if errors:
        raise GuardError(errors)
    representation.authority_check, representation.subject_check = authority_check, subject_check
    representation.check_note, representation.checked_at = note.strip()[:500], timezone.now()
    representation.checked_by = actor
    representation.save()
    audit.record_event(ticket=locked, actor=actor, action="representation.checked",
                       data={"authority_check": authority_check, "subject_check": subject_check,
                             "note": representation.check_note})
    bump(locked)
    return representation
