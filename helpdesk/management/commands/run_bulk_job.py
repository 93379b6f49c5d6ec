"""``manage.py run_bulk_job [JOB ...]``: run (or resume) bulk jobs in this process (issue 31).

Safe at any time, also while a worker runs the same job: every ticket is acted on once. Without
arguments it resumes every job that is not finished (e.g. after the broker lost its message).
Prints one JSON line per job: ``{"job", "pending", "done", "skipped", "failed", "total"}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpdesk.models import BulkJob, BulkJobStatus
from helpdesk.services import bulk_actions


class Command(BaseCommand):
    help = "Run or resume bulk jobs (all unfinished ones without arguments); each ticket is acted on once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("jobs", nargs="*", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = options["jobs"] or list(BulkJob.objects.exclude(status=BulkJobStatus.DONE).order_by("pk")
                                       .values_list("pk", flat=True))
        for job_id in jobs:
            self.stdout.write(json.dumps({"job": job_id, **bulk_actions.run_bulk_job(job_id=job_id)}))
