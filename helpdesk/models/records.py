"""Records kept about tickets: quarantined mail, the audit trail, retention and anonymous figures."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tickets import Channel, Ticket, User, raw_mail_upload_to
from workflows.request_types import RequestType


class QuarantineStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    CONVERTED = "converted", _("Turned into a ticket")
    ATTACHED = "attached", _("Attached to a ticket")
    DISCARDED = "discarded", _("Discarded")
    # Automatic mail (RFC 3834 headers, a bounce, a list, our own mail) that continued no ticket:
    # kept so staff can see what intake set aside, and still open a ticket from it.
    IGNORED = "ignored", _("Ignored as automatic mail")


class Quarantine(models.Model):
    """Mail the desk could not file on its own: kept, with its raw bytes, for a person to review."""

    reason = models.CharField(max_length=64)
    detail = models.TextField(blank=True)
    source = models.CharField(max_length=500, blank=True)
    raw_message = models.FileField(upload_to=raw_mail_upload_to)  # a file: quarantined mail may be any size
    size = models.PositiveBigIntegerField(default=0)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=QuarantineStatus.choices, default=QuarantineStatus.PENDING)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "quarantine"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="quarantine_status_received")]

    def __str__(self) -> str:
        return f"{self.reason}: {self.subject or self.source}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit trail is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit trail is append-only")


class AuditEvent(models.Model):
    """Append-only record of who did what to which ticket, chained by hash per ticket."""

    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="audit_events",
                               db_constraint=False)
    ticket_reference = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_constraint=False)
    actor_label = models.CharField(max_length=200)  # survives the user's deletion
    action = models.CharField(max_length=64)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    seq = models.PositiveIntegerField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "seq"], name="audit_chain_ticket_seq"),
            models.UniqueConstraint(fields=["seq"], condition=Q(ticket__isnull=True), name="audit_chain_global_seq"),
        ]
        indexes = [
            models.Index(fields=["ticket", "at"], name="audit_ticket_at"),
            models.Index(fields=["action", "at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.ticket_reference}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("the audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit trail is append-only")


# --- Records and trust (issue 8): retention periods and the anonymous figures that outlive tickets --
class RetentionCategory(models.TextChoices):
    """Record categories of the privacy policy, section 9 (see docs/trust.md for the mapping)."""

    COMPLAINT_DISPUTE = "complaint_dispute", _("Consumer complaints and dispute resolution")
    CONTRACT_WITHDRAWAL = "contract_withdrawal", _("Contract or subscription withdrawal")
    PAYMENT_SUPPLY = "payment_supply", _("Payment and supply of goods")
    DISPLAY_ADVERTISEMENT = "display_advertisement", _("Display and advertisement")
    GENERAL_INQUIRY = "general_inquiry", _("General inquiries")
    WEBSITE_VISIT = "website_visit", _("Website visits (sign-in records, sessions)")
    UNFILED_MAIL = "unfiled_mail", _("Unfiled mail (quarantine)")


class RetentionPolicy(models.Model):
    """How long the desk keeps one category of record after it is closed; managers edit it."""

    category = models.CharField(_("category"), max_length=32, choices=RetentionCategory.choices, unique=True)
    months = models.PositiveSmallIntegerField(_("months kept"))
    # A statutory period: an erasure request cannot shorten it (see helpdesk.trust.erasure).
    statutory = models.BooleanField(_("required by law"), default=False)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.months}"


class TicketStatistic(models.Model):
    """Anonymous counters of purged tickets, so managers' historical figures survive the purge.

    One row per month of receipt × request type × channel; live tickets are not counted here.
    """

    month = models.DateField()  # first day of the month the ticket was received (desk time zone)
    request_type = models.CharField(max_length=32, choices=RequestType.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    received = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)  # answered: responded or rejected
    rejected = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)  # answered no later than due_at
    first_response_count = models.PositiveIntegerField(default=0)
    first_response_seconds = models.PositiveBigIntegerField(default=0)
    resolution_count = models.PositiveIntegerField(default=0)
    resolution_seconds = models.PositiveBigIntegerField(default=0)
    active_seconds = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "request_type", "channel"], name="ticket_statistic_bucket"),
        ]
        ordering = ["month", "request_type", "channel"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.request_type} {self.channel}: {self.received}"


# --- Requester side (issue 5): what the Contact Us form records beyond the ticket itself --------
