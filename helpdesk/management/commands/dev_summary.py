"""``manage.py dev_summary``: the closing lines of ``make run`` — where the desk is, who can sign in
with which password, and which requester addresses the demo CRM holds (to try a search or an erasure).
Console text for the developer, in English like the other management commands.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpdesk.management.commands.seed_staff import remembered_passwords
from helpdesk.models import User
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP


def demo_requesters(path: Path) -> list[tuple[str, str]]:
    """(name, address) of every customer in the demo CRM, or nothing if it was not created."""
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(db.execute("SELECT name, email FROM customers ORDER BY id"))


class Command(BaseCommand):
    help = "Print the desk's address, the staff accounts and the demo CRM's requester addresses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://localhost:8000/", help="where the desk is served")
        parser.add_argument("--passwords", metavar="FILE", help="what seed_staff --remember wrote")
        parser.add_argument("--demo-crm", metavar="FILE", help="the demo CRM (SQLite) of demo_data_sources")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"].rstrip("/")
        known = remembered_passwords(Path(options["passwords"])) if options["passwords"] else {}
        lines = [
            "",
            "Privacy Desk is running.",
            f"  {'Contact form (requesters)':<28} {url}/",
            f"  {'Staff desk':<28} {url}/desk/",
            f"  {'Django admin':<28} {url}/admin/",
            f"  {'API documentation':<28} {url}/api/v1/docs/",
            "",
            "Staff accounts:",
        ]
        staff = (User.objects.filter(groups__name__in=[ADMINISTRATOR_GROUP, MANAGER_GROUP])
                 .prefetch_related("groups").distinct().order_by("username"))
        for user in staff:
            roles = ", ".join(sorted(g.name for g in user.groups.all()))
            password = known.get(user.username, f"(set earlier: manage.py changepassword {user.username})")
            lines.append(f"  {user.username:<16} {password:<20} {roles}")
        if not staff:
            lines.append("  " + "none yet: run manage.py seed_staff")
        requesters = demo_requesters(Path(options["demo_crm"])) if options["demo_crm"] else []
        if requesters:
            lines += ["", "Requester addresses in the demo CRM (submit a request with one of them):"]
            lines += [f"  {address:<28} {name}" for name, address in requesters]
        self.stdout.write("\n".join(lines))
