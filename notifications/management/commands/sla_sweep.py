"""``python manage.py sla_sweep``: the SLA sweep for deployments without Celery beat (cron).

It also does beat's ``retry_pending_messages``: acknowledgements and replies left pending (a crash
between the commit and the send, SMTP down) are sent again, here (issue 29).
"""

from __future__ import annotations

import json
from datetime import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from notifications.contact_tasks import run_task_sweep
from notifications.reminders import claim_digests, run_sweep
from notifications.tasks import resend_pending_messages

DIGEST_TIME = time(8, 30)


class Command(BaseCommand):
    help = (
        "Send due deadline reminders and escalations once each; from 08:30 (desk time) also today's "
        "digests; resend mail to requesters left pending. Safe to run from cron every few minutes, even twice "
        "at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="At most this many claims in this run.")
        parser.add_argument("--no-digest", action="store_true", help="Do not send the daily digests.")
        parser.add_argument("--digest-now", action="store_true", help="Send today's digests even before 08:30.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = run_sweep(limit=options["limit"])
        summary: dict[str, Any] = result.as_dict()
        summary["task_reminders"] = len(run_task_sweep())  # tasks to departments and processors (issue 26)
        summary["resent"] = resend_pending_messages()
        local_now = timezone.localtime()
        if not options["no_digest"] and (options["digest_now"] or local_now.time() >= DIGEST_TIME):
            summary["digests"] = len(claim_digests())
        self.stdout.write(json.dumps(summary))
