"""``manage.py rebuild_figures``: recompute the managers' figures summary from the tickets.

Not needed in normal running (a trigger marks every written day; beat or ``refresh_figures`` from
cron recomputes those, and reports answer such days live meanwhile); run it after restoring
tickets without the summary, after changing TIME_ZONE (the summary's days are local days), or
after a bulk load, so the first reports are not answered live.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from helpdesk.metrics import summary


class Command(BaseCommand):
    help = "Recompute the per-day summary behind the managers' figures from the tickets."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        rows = summary.rebuild()
        self.stdout.write(f"{rows} summary rows written in {time.monotonic() - started:.1f} s.")
