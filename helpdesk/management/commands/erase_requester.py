"""``manage.py erase_requester PRIV-2026-0001 --actor USERNAME [--yes]``: preview, then erase."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.models import Ticket, User
from helpdesk.services import ServiceError
from helpdesk.trust.erasure import erase_personal_data, preview_desk_erasure


class Command(BaseCommand):
    help = ("Erase the personal data of the requester of a deletion request ticket. Without --yes it only "
            "prints the preview.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="The deletion (or membership-withdrawal) request, e.g. PRIV-2026-0001")
        parser.add_argument("--actor", required=True, help="Username of the administrator or manager doing it.")
        parser.add_argument("--yes", action="store_true", help="Really erase (default: preview only).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ticket = Ticket.objects.get(reference=options["reference"])
            actor = User.objects.get(username=options["actor"])
        except (Ticket.DoesNotExist, User.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        try:
            if options["yes"]:
                plan = erase_personal_data(ticket=ticket, actor=actor)
            else:
                plan = preview_desk_erasure(ticket=ticket, actor=actor)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
