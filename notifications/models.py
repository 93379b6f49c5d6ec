"""Tables owned by notifications: response templates and the once-only send log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponseTemplate(models.Model):
    """A reusable bilingual answer. Placeholders: {name}, {reference}, {due_date}, {subject}."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    request_type = models.CharField(_("request type"), max_length=32, blank=True)
    body_ko = models.TextField(_("Korean text"))
    body_en = models.TextField(_("English text"))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")

    def __str__(self) -> str:
        return self.name


class SentNotification(models.Model):
    """One row per (ticket, kind, stage) ever sent: the unique constraint makes sends once-only,
    even with two beat schedulers or several workers racing."""

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="sent_notifications")
    kind = models.CharField(max_length=32)  # reminder, escalation, verification_reminder, ...
    stage = models.CharField(max_length=32, blank=True)  # e.g. "3", "1", "0", or a date for digests
    recipient = models.CharField(max_length=320, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "stage"], name="uniq_notification_stage")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.stage} for ticket {self.ticket_id}"


class DigestLog(models.Model):
    """Daily digest per administrator and day, once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="uniq_digest_user_day")]
