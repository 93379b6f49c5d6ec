"""``manage.py refresh_figures``: bring the managers' figures summary up to date (cron, without beat).

Recomputes only the days written since the last refresh; with Celery beat the
``helpdesk.metrics.tasks.refresh_figures`` task does the same every minute. Reports never write.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from helpdesk.metrics import summary


class Command(BaseCommand):
    help = "Recompute the figures summary of the days written since the last refresh (safe to run from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{summary.refresh()} days recomputed.")
