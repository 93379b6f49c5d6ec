"""Tables owned by the workflow package: SLA policies and the company's closure days."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from workflows.request_types import Jurisdiction, RequestType


class PeriodUnit(models.TextChoices):
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    BUSINESS_DAYS = "business_days", _("Business days")
    MONTHS = "months", _("Months")


def default_reminder_offsets() -> list[int]:
    return [3, 1, 0]


class SlaPolicy(models.Model):
    """How long the desk has to answer one request type under one jurisdiction."""

    request_type = models.CharField(_("request type"), max_length=32, choices=RequestType.choices)
    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=8, choices=Jurisdiction.choices, default=Jurisdiction.KR
    )
    period = models.PositiveSmallIntegerField(
        _("period"), validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    unit = models.CharField(_("unit"), max_length=16, choices=PeriodUnit.choices, default=PeriodUnit.CALENDAR_DAYS)
    extension_period = models.PositiveSmallIntegerField(_("extension period"), default=0)
    extension_unit = models.CharField(
        _("extension unit"), max_length=16, choices=PeriodUnit.choices, default=PeriodUnit.CALENDAR_DAYS
    )
    max_extensions = models.PositiveSmallIntegerField(_("extensions allowed"), default=1)
    reminder_offsets = models.JSONField(
        _("reminder offsets (days before due)"), default=default_reminder_offsets
    )
    escalation_emails = models.TextField(
        _("escalation contacts"), blank=True, help_text=_("E-mail addresses, one per line; managers when empty.")
    )
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    # PIPA/GDPR/CCPA all stop the clock while the desk waits for identity proof or details.
    pause_clock = models.BooleanField(
        _("pause while awaiting the requester"),
        default=True,
        help_text=_("The deadline moves by the days spent waiting, and waiting time is left out of the figures."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["request_type", "jurisdiction"], name="uniq_sla_type_jurisdiction")
        ]
        ordering = ["jurisdiction", "request_type"]

    def __str__(self) -> str:
        return f"{self.get_request_type_display()} / {self.get_jurisdiction_display()}: {self.period} {self.unit}"

    @property
    def escalation_list(self) -> list[str]:
        return [line.strip() for line in self.escalation_emails.splitlines() if line.strip()]


class ClosureDay(models.Model):
    """A company-specific day off (e.g. foundation day) that does not count as a working day."""

    date = models.DateField(_("date"), unique=True)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("closure day")
        verbose_name_plural = _("closure days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"
