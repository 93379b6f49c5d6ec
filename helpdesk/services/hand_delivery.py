"""Notices given by hand: a requester without an e-mail address is told by phone, post or in person."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import DeliveryStatus, Direction, GivenBy, Message, NoticeDelivery, Ticket, User
from helpdesk.services.errors import GuardError
from helpdesk.services.locking import bump, lock_for_staff
from helpdesk.services.tickets import CLOCK_SKEW
from helpdesk.trust import audit


@transaction.atomic
def record_hand_delivery(
    *, ticket: Ticket, message: Message, method: str, given_at: datetime, actor: User, note: str = ""
) -> NoticeDelivery:
    """Record how and when a notice that could not be mailed reached the requester, and who gave it."""
    locked = lock_for_staff(ticket, actor, expected_version=None)
    row = Message.objects.select_for_update().get(pk=message.pk)
    if row.ticket_id != locked.pk or row.direction != Direction.OUTBOUND:
        raise GuardError({"message": _("This is not a notice of this ticket.")})
    if row.delivery_status != DeliveryStatus.TO_GIVE:
        raise GuardError({"message": _("This notice was mailed or its delivery is already recorded.")})
    if method not in GivenBy.values:
        raise GuardError({"method": _("Choose how the notice was given.")})
    if given_at > timezone.now() + CLOCK_SKEW:
        raise GuardError({"given_at": _("The time given cannot be in the future.")})
    if given_at < row.sent_at - CLOCK_SKEW:
        raise GuardError({"given_at": _("The notice cannot have been given before it was written.")})
    given = NoticeDelivery.objects.create(message=row, method=method, given_at=given_at, given_by=actor,
                                          note=note.strip()[:500])
    Message.objects.filter(pk=row.pk).update(delivery_status=DeliveryStatus.GIVEN)
    audit.record_event(ticket=locked, actor=actor, action="message.given_by_hand",
                       data={"message": row.pk, "method": method, "given_at": given_at.isoformat()})
    bump(locked)
    return given
