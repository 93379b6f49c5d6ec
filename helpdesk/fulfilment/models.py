"""Fulfilment's own tables: what was found where, what was released, what was erased.

Writes go through :mod:`helpdesk.fulfilment.services`. Rows hang off the ticket (CASCADE): when
the ticket is purged at the end of its retention period, the copies of the data go with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.fulfilment.shapes import SourceResult
from helpdesk.models import Ticket, User

# A lookup or an erasure still "running" after this long lost its worker (killed, redeployed):
# the desk then lets staff start or retry it again. Far above sources x timeouts.
STALE_AFTER = timedelta(minutes=30)


class LookupStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Looking")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Some sources failed")
    FAILED = "failed", _("Failed")


class DataLookup(models.Model):
    """One search of every data source for the requester's address; ``result`` has the contract shape
    ``{"sources": [{"name", "tables": [{"name", "records", "erase"}], "error"}]}``."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="data_lookups")
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField()
    status = models.CharField(max_length=12, choices=LookupStatus.choices, default=LookupStatus.QUEUED)
    sources_total = models.PositiveSmallIntegerField(default=0)
    sources_done = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "-created_at"], name="lookup_ticket_latest")]

    def __str__(self) -> str:
        return f"lookup {self.pk} for {self.ticket_id}"

    @property
    def sources(self) -> list[SourceResult]:
        return list(self.result.get("sources", []))

    @property
    def failed_sources(self) -> list[str]:
        return [s["name"] for s in self.sources if s.get("error")]

    @property
    def is_running(self) -> bool:
        return self.status in (LookupStatus.QUEUED, LookupStatus.RUNNING)

    @property
    def is_stale(self) -> bool:
        return self.is_running and self.created_at < timezone.now() - STALE_AFTER

    @property
    def is_complete(self) -> bool:
        """Every source answered: the basis for a package or an erasure."""
        return self.status == LookupStatus.DONE

    @property
    def record_count(self) -> int:
        return sum(len(t["records"]) for s in self.sources for t in s["tables"])


class PackageStatus(models.TextChoices):
    DRAFT = "draft", _("Built, to review")
    RELEASED = "released", _("Released to the requester")


class AccessPackage(models.Model):
    """The requester's copy (JSON, CSV per table, bilingual summary) as one ZIP in private storage."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="access_packages")
    lookup = models.ForeignKey(DataLookup, on_delete=models.CASCADE, related_name="packages")
    status = models.CharField(max_length=12, choices=PackageStatus.choices, default=PackageStatus.DRAFT)
    file = models.FileField(upload_to="access-packages/%Y/%m/", max_length=300)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    # What is in it, without the data: [{"source", "table", "records"}] and the file names.
    contents = models.JSONField(default=dict)
    built_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    built_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "-built_at"], name="package_ticket_latest")]

    def __str__(self) -> str:
        return f"access package {self.pk}"

    @property
    def filename(self) -> str:
        return f"{self.ticket.reference}-personal-data.zip"

    def is_downloadable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.status == PackageStatus.RELEASED and self.expires_at is not None and self.expires_at > now


class ErasureStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Preview, awaiting approval")
    APPROVED = "approved", _("Approved, running")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Some tables failed")


class ErasurePlan(models.Model):
    """What will be (and was) deleted, anonymised, changed or kept, one :class:`ErasureStep` a table."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="erasure_plans")
    lookup = models.ForeignKey(DataLookup, on_delete=models.CASCADE, related_name="erasure_plans")
    email = models.EmailField()
    status = models.CharField(max_length=12, choices=ErasureStatus.choices, default=ErasureStatus.PREVIEWED)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)  # the answer listing it went out

    class Meta:
        indexes = [models.Index(fields=["ticket", "-created_at"], name="erasure_ticket_latest")]

    def __str__(self) -> str:
        return f"erasure plan {self.pk}"

    @property
    def is_stale(self) -> bool:
        """Approved long ago and still not finished: its worker is gone; a retry picks it up."""
        return (self.status == ErasureStatus.APPROVED and self.approved_at is not None
                and self.approved_at < timezone.now() - STALE_AFTER)


class StepStatus(models.TextChoices):
    PENDING = "pending", _("To do")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    KEPT = "kept", _("Kept by law")


class ErasureStep(models.Model):
    """One table of one source. Unique per plan: a done step is never run again (idempotence)."""

    plan = models.ForeignKey(ErasurePlan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=63)
    table = models.CharField(max_length=128)
    action = models.CharField(max_length=12)  # delete | anonymize | set | keep
    columns = models.JSONField(default=list)  # the columns anonymised or set
    keep_reason = models.TextField(blank=True)
    found = models.PositiveIntegerField(default=0)  # records the preview showed
    status = models.CharField(max_length=12, choices=StepStatus.choices, default=StepStatus.PENDING)
    affected = models.PositiveIntegerField(null=True, blank=True)  # rows the source reported
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "source", "table"], name="erasure_step_once")]

    def __str__(self) -> str:
        return f"{self.source}.{self.table}: {self.action}"


class ManualFulfilment(models.Model):
    """An administrator's written reason why the request was carried out by hand."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="manual_fulfilments")
    reason = models.TextField()
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["ticket"], name="manual_fulfilment_ticket")]

    def __str__(self) -> str:
        return f"done by hand on {self.ticket_id}"
