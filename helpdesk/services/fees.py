"""Fees and postage (PIPA Art. 38(3); Enforcement Decree Art. 47): quoted to the requester first.

The administrator records what a request costs (at most the actual cost; postage only when a copy
is mailed). The requester is mailed the amounts before anything is incurred, and the quote is on
the ticket, in its notices and in the exports. When the request was caused by the company (e.g. it
holds wrong data), nothing may be charged (Decree 47(2)): the quote records that instead.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import FeeQuote, MessageKind, Ticket, User
from helpdesk.services.errors import GuardError, TransitionNotAllowedError
from helpdesk.services.locking import bump, lock_for_staff
from helpdesk.trust import audit
from notifications.mail import render_bilingual
from notifications.services import queue_outbound_message

MAX_AMOUNT = 1_000_000  # won; a typo guard, far above any actual cost of a copy


def _amount(value: object, field: str, errors: dict[str, str]) -> int:
    try:
        amount = int(str(value or 0).replace(",", "").strip() or 0)
    except ValueError:
        errors[field] = _("Give the amount in won, as a whole number.")
        return 0
    if not 0 <= amount <= MAX_AMOUNT:
        errors[field] = _("The amount must be between 0 and 1,000,000 won.")
    return amount


@transaction.atomic
def quote_fee(*, ticket: Ticket, actor: User, fee: object = 0, postage: object = 0, company_cause: bool = False,
              basis: str = "", expected_version: int | None = None) -> FeeQuote:
    """Record the fee and postage of a request and mail them to the requester before they are incurred."""
    errors: dict[str, str] = {}
    fee_won, postage_won = _amount(fee, "fee", errors), _amount(postage, "postage", errors)
    basis = " ".join((basis or "").split())
    if company_cause and (fee_won or postage_won):
        errors["company_cause"] = _("Nothing may be charged when the company caused the request "
                                    "(Enforcement Decree Art. 47(2)).")
    if not basis:
        errors["basis"] = _("Say what the amount pays for (or why nothing is charged).")
    if len(basis) > 500:
        errors["basis"] = _("Keep it under 500 characters.")
    if errors:
        raise GuardError(errors)
    locked = lock_for_staff(ticket, actor, expected_version)
    if not locked.is_open:
        raise TransitionNotAllowedError(_("A fee is quoted before the request is answered, not after."))
    now = timezone.now()
    quote = FeeQuote(ticket=locked, fee=fee_won, postage=postage_won, company_cause=company_cause, basis=basis,
                     quoted_at=now, quoted_by=actor)
    body = render_bilingual("fee_quote", {"ticket": locked, "requester": locked.requester, "quote": quote},
                            locked.requester.language)
    quote.message = queue_outbound_message(
        ticket=locked, body_text=body, kind=MessageKind.REPLY, author=actor,
        subject=f"[{locked.reference}] 수수료·우송료 안내 / Fees and postage: {locked.subject}")
    quote.save()
    audit.record_event(ticket=locked, actor=actor, action="fee.quoted",
                       data={"fee": fee_won, "postage": postage_won, "company_cause": company_cause, "basis": basis,
                             "message": quote.message.pk})
    bump(locked)
    ticket.refresh_from_db()
    return quote


def latest_quote(ticket: Ticket) -> FeeQuote | None:
    return FeeQuote.objects.filter(ticket=ticket).order_by("-quoted_at", "-id").first()
