"""Tables owned by notifications: response templates and the once-only send log."""

from __future__ import annotations

import secrets

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


class StaffMailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not needed any more")  # e.g. answered before the reminder went out
    EMPTY = "empty", _("Nothing to report")


class SentNotification(models.Model):
    """One row per (ticket, kind, stage) ever sent: the unique constraint makes sends once-only,
    even with two beat schedulers or several workers racing.

    The sweep inserts the row first (the claim) and the mail is built and sent after commit by
    ``notifications.tasks.deliver_notification``. Deadline stages carry the deadline's date
    (``"3@2026-09-28"``), so a moved deadline (pause, extension) gets its own reminders.
    """

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="sent_notifications")
    kind = models.CharField(max_length=32)  # reminder, escalation, verification_reminder, ...
    stage = models.CharField(max_length=32, blank=True)  # e.g. "3@2026-09-28", "overdue@2026-09-28"
    recipient = models.CharField(max_length=320, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # the deadline this notification is about
    delivery_status = models.CharField(
        max_length=10, choices=StaffMailStatus.choices, default=StaffMailStatus.SENT
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "stage"], name="uniq_notification_stage")
        ]
        indexes = [
            # Claims whose mail did not go out yet (worker died, SMTP down): retried by the sweep.
            models.Index(fields=["created_at"], name="notification_pending",
                         condition=models.Q(delivery_status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.stage} for ticket {self.ticket_id}"


class DigestLog(models.Model):
    """Daily digest per administrator and day, once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    delivery_status = models.CharField(
        max_length=10, choices=StaffMailStatus.choices, default=StaffMailStatus.SENT
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="uniq_digest_user_day")]

    def __str__(self) -> str:
        return f"digest {self.day} for user {self.user_id}"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A system to tell about ticket events: a signed POST per event (``notifications.webhooks``)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100, default=new_webhook_secret,
                              help_text=_("Receivers check the X-Privacy-Desk-Signature header with it."))
    events = models.JSONField(_("events"), default=list, blank=True,
                              help_text=_("Event names or prefixes, e.g. [\"ticket.created\", \"transition.\"]; "
                                          "empty for all ticket events."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint: recorded with the event's transaction, POSTed after it commits."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=64)
    body = models.TextField()  # the exact JSON sent, the same on every attempt
    status = models.CharField(_("status"), max_length=10, choices=WebhookStatus.choices,
                              default=WebhookStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # The retry sweep: pending deliveries whose next attempt is due.
            models.Index(fields=["next_attempt_at"], name="webhook_due",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"


class NoticeDelivery(models.TextChoices):
    """How a statutory notice reached the requester (Decree 41(5) etc. say "in writing or the like")."""

    EMAIL = "email", _("Attached to an e-mail")
    POST = "post", _("Given by post")
    PHONE = "phone", _("Given by phone (and recorded)")
    IN_PERSON = "in_person", _("Handed over in person")


class StatutoryNotice(models.Model):
    """One notice the law prescribes (``workflows.notices.NoticeKind``), as given to the requester.

    ``inputs`` holds everything the document is rendered from, so the same PDF can be rendered again
    from the row (``notifications.notices.render_notice``); the PDF itself is the ``attachment`` of
    the ``message`` that carried it (an outbound mail, or an internal note for post and phone).
    """

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="statutory_notices")
    message = models.ForeignKey("helpdesk.Message", on_delete=models.CASCADE, related_name="statutory_notices")
    attachment = models.OneToOneField("helpdesk.Attachment", on_delete=models.CASCADE, related_name="notice")
    kind = models.CharField(max_length=40)
    inputs = models.JSONField()
    delivery = models.CharField(max_length=12, choices=NoticeDelivery.choices, default=NoticeDelivery.EMAIL)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="notice_ticket_created")]

    def __str__(self) -> str:
        return f"{self.kind} notice for ticket {self.ticket_id}"


class TaskReminder(models.Model):
    """A reminder about a task (issue 26) claimed once per task and kind (``before_due``, ``overdue``).

    The sweep (``notifications.task_reminders``) inserts the claim and, in the same transaction, the
    mail to the contact (a staff-only message on the ticket, ``message``); the mail to the assigned
    administrator is sent after commit, its outcome in ``delivery_status``.
    """

    task = models.ForeignKey("helpdesk.Task", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16)
    message = models.ForeignKey("helpdesk.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    recipient = models.CharField(max_length=320, blank=True)
    delivery_status = models.CharField(max_length=10, choices=StaffMailStatus.choices,
                                       default=StaffMailStatus.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "kind"], name="uniq_task_reminder_kind")]

    def __str__(self) -> str:
        return f"{self.kind} reminder for task {self.task_id}"
