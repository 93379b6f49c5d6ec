"""Celery task of the desk's surge tools (issue 31): a bulk job over many tickets.

The work is :func:`helpdesk.services.bulk_actions.run_bulk_job`, which is safe to run again: a task
redelivered after its worker died (``acks_late``, ``reject_on_worker_lost``) or retried after a
database error resumes with the items still pending.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from helpdesk.services import bulk_actions


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_backoff_max=120, max_retries=20)
def run_bulk_job(self: Any, job_id: int) -> dict[str, int]:
    return bulk_actions.run_bulk_job(job_id=job_id)


@shared_task(acks_late=True)
def resume_bulk_jobs(idle_seconds: int = 600) -> list[int]:
    """Beat: enqueue again the unfinished jobs nothing happened on for ``idle_seconds``."""
    return bulk_actions.resume_stalled_jobs(idle_seconds=idle_seconds)
