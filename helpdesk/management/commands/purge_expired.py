"""``manage.py purge_expired [--dry-run]``: delete records past their retention period."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpdesk.trust.retention import DEFAULT_BATCH_SIZE, purge_expired


class Command(BaseCommand):
    help = ("Delete tickets, messages, attachments (and their files), raw mail, unfiled mail and visit "
            "records past their retention period; prints the count per category as JSON.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        report = purge_expired(dry_run=options["dry_run"], batch_size=options["batch_size"])
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True))
