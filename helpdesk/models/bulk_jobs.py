"""Surge tools (issue 31): one action over many tickets as a background job, exactly once per ticket.

A :class:`BulkJob` is what a staff member asked for (the action, its parameters, who); it owns one
:class:`BulkItem` per ticket, unique per (job, ticket). An item leaves ``pending`` in the same
transaction as the ticket's change, so a job that is retried, run twice or killed half-way resumes
with the pending items only and never acts on a ticket twice. Written by
:mod:`helpdesk.services.bulk_actions` only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BulkAction(models.TextChoices):
    ASSIGN = "assign", _("Assign")
    REPLY = "reply", _("Send a templated reply")
    EXTEND = "extend", _("Extend the deadline (with its notice)")
    CLOSE_DUPLICATE = "close_duplicate", _("Close as duplicate")


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class BulkItemState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class BulkJob(models.Model):
    action = models.CharField(_("action"), max_length=32, choices=BulkAction.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    selection = models.JSONField(_("selection"), default=dict, blank=True)  # the filter or "by hand"
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulk_jobs")
    language = models.CharField(max_length=8, default="ko")  # the reasons and summary are written in it
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)  # how many times a worker started it (retries included)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")

    def __str__(self) -> str:
        return f"bulk job {self.pk} ({self.action})"


class BulkItem(models.Model):
    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="bulk_items")
    state = models.CharField(max_length=16, choices=BulkItemState.choices, default=BulkItemState.PENDING)
    reason = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "ticket"], name="bulk_item_once_per_ticket")]
        indexes = [models.Index(fields=["job", "state"], name="bulk_item_job_state")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.ticket_id}: {self.state}"
