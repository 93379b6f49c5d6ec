"""``manage.py verify_audit``: recompute every audit hash chain; exit 1 when anything is off."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.trust.audit_verify import verify_audit_trail


class Command(BaseCommand):
    help = "Recompute every per-ticket audit hash chain and report tampered or missing rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of text.")

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = verify_audit_trail()
        if options["json"]:
            self.stdout.write(json.dumps({"checked": checked, "ok": not problems,
                                          "problems": [p.__dict__ for p in problems]}, ensure_ascii=False))
        else:
            for problem in problems:
                self.stdout.write(str(problem))
            self.stdout.write(f"{checked} audit events checked, {len(problems)} problem(s).")
        if problems:
            raise CommandError(f"audit trail verification failed: {len(problems)} problem(s)", returncode=1)
