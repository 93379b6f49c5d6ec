"""The figures' summary is kept up to date here, never in a read: beat runs :func:`refresh_figures`
every minute (``manage.py refresh_figures`` from cron without beat). Until then a day written since
is answered from the tickets (exact, slower)."""

from __future__ import annotations

from celery import shared_task

from helpdesk.metrics import summary


@shared_task(name="helpdesk.metrics.tasks.refresh_figures")
def refresh_figures() -> int:
    """Recompute the summary of the days written since the last refresh; returns how many days."""
    return summary.refresh()
