"""Celery task: poll the IMAP mailbox (beat runs it every minute when ``DESK_IMAP_HOST`` is set)."""

from __future__ import annotations

import logging

from celery import shared_task

from helpdesk.intake.sources import PollLocked, imap_settings, mailbox_poll_lock, poll_imap

logger = logging.getLogger(__name__)


@shared_task(name="helpdesk.intake.tasks.poll_mailbox", ignore_result=True)
def poll_mailbox(limit: int | None = None) -> dict[str, object]:
    """File new mail from the IMAP folder. Two overlapping runs cannot poll at once (lock)."""
    config = imap_settings()
    if config is None:
        return {"status": "not_configured"}
    try:
        with mailbox_poll_lock():
            report = poll_imap(config, limit=limit)
    except PollLocked:
        logger.info("mailbox poll skipped: another poll is running")
        return {"status": "locked"}
    outcomes: dict[str, int] = {}
    for _source, result in report.results:
        outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
    return {"status": "transient_error" if report.transient_error else "ok", "outcomes": outcomes,
            "errors": len(report.errors)}
