"""People besides the requester who receive the replies: a guardian, a representative, legal counsel.

Added and removed by staff (audited); a mail's ``Cc`` addresses are offered on the ticket page
(:func:`offered_from_cc`); replies go to them in ``Cc`` (``notifications.services``); their mail
threads onto the ticket like the requester's (``helpdesk.intake.lookups``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Direction, Message, Participant, ParticipantRole, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.locking import bump, lock_for_staff
from helpdesk.services.requesters import normalize_email
from helpdesk.trust import audit


@transaction.atomic
def add_participant(*, ticket: Ticket, actor: User, email: str, name: str = "",
                    role: str = ParticipantRole.OTHER) -> Participant:
    """Add someone who receives the replies from now on."""
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError as exc:
        raise GuardError({"email": _("Enter a valid e-mail address.")}) from exc
    if role not in ParticipantRole.values:
        raise GuardError({"role": _("Choose a role.")})
    locked = lock_for_staff(ticket, actor, expected_version=None)
    if address == locked.requester.email:
        raise GuardError({"email": _("This is the requester's own address: they receive the replies already.")})
    if address == normalize_email(settings.DESK_EMAIL):
        raise GuardError({"email": _("This is the desk's own address.")})
    if Participant.objects.filter(ticket=locked, email=address, removed_at__isnull=True).exists():
        raise GuardError({"email": _("This person receives the replies already.")})
    participant = Participant.objects.create(ticket=locked, email=address, name=name.strip()[:200], role=role,
                                             added_by=actor)
    audit.record_event(ticket=locked, actor=actor, action="participant.added",
                       data={"email": address, "name": participant.name, "role": role})
    bump(locked)
    return participant


@transaction.atomic
def remove_participant(*, ticket: Ticket, actor: User, participant_id: int) -> Participant:
    """Stop sending the replies to them (the row stays: who received what is on record)."""
    locked = lock_for_staff(ticket, actor, expected_version=None)
    participant = Participant.objects.filter(ticket=locked, pk=participant_id, removed_at__isnull=True).first()
    if participant is None:
        raise GuardError({"participant": _("This person does not receive the replies.")})
    participant.removed_at, participant.removed_by = timezone.now(), actor
    participant.save(update_fields=["removed_at", "removed_by"])
    audit.record_event(ticket=locked, actor=actor, action="participant.removed",
                       data={"email": participant.email, "role": participant.role})
    bump(locked)
    return participant


def offered_from_cc(ticket: Ticket, active: list[Participant]) -> list[str]:
    """Addresses in the To/Cc of the mail received on the ticket, not yet receiving the replies."""
    known = {ticket.requester.email, normalize_email(settings.DESK_EMAIL), *(p.email for p in active)}
    offered: dict[str, None] = {}
    for recipients in Message.objects.filter(ticket=ticket, direction=Direction.INBOUND).values_list(
            "recipients", flat=True):
        for address in recipients or []:
            address = normalize_email(str(address))
            if address and address not in known:
                offered[address] = None
    return list(offered)
