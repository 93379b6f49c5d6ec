"""Fees and postage for a request (PIPA Art. 38(3); Enforcement Decree Art. 47)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tickets import Message, Ticket, User


class FeeQuote(models.Model):
    """What the requester is asked to pay, shown to them (``message``) before anything is incurred.

    Decree 47(1): at most the actual cost; postage only when a copy is to be mailed (Act 38(3)).
    Decree 47(2): nothing at all when the request was caused by the company (``company_cause``).
    The latest quote of a ticket is the one that applies; amounts are in Korean won.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="fee_quotes")
    fee = models.PositiveIntegerField(_("fee (KRW)"), default=0)
    postage = models.PositiveIntegerField(_("postage (KRW)"), default=0)
    company_cause = models.BooleanField(_("caused by the company"), default=False)
    basis = models.CharField(_("what it pays for"), max_length=500)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quoted_at = models.DateTimeField()
    quoted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["quoted_at", "id"]
        indexes = [models.Index(fields=["ticket", "quoted_at"], name="feequote_ticket_quoted")]

    def __str__(self) -> str:
        return f"fee {self.fee} + postage {self.postage} for ticket {self.ticket_id}"

    @property
    def total(self) -> int:
        return self.fee + self.postage
