"""Create the privacy administrators named in the policy and a manager (idempotent).

Accounts come from settings (``DESK_ADMINISTRATORS``, ``DESK_MANAGERS``: "username:Full Name").
Passwords come from ``DESK_STAFF_PASSWORD`` or are generated and printed once, on creation only.
``--remember FILE`` (``make run``, development only) also writes generated passwords to FILE (mode 600)
so the run's closing summary can show them again.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from helpdesk.models import User
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP


def parse_accounts(entries: list[str]) -> list[tuple[str, str]]:
    accounts = []
    for entry in entries:
        username, _, name = entry.partition(":")
        accounts.append((username.strip(), name.strip() or username.strip()))
    return accounts


class Command(BaseCommand):
    help = "Create the privacy administrators and the manager account (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--remember", metavar="FILE", help="development only: also write generated "
                            "passwords to FILE (username<TAB>password, mode 600)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        remember = Path(options["remember"]) if options.get("remember") else None
        password = os.environ.get("DESK_STAFF_PASSWORD", "")
        domain = settings.DESK_EMAIL.partition("@")[2] or "example.com"
        plan = [(u, n, ADMINISTRATOR_GROUP) for u, n in parse_accounts(settings.DESK_ADMINISTRATORS)]
        plan += [(u, n, MANAGER_GROUP) for u, n in parse_accounts(settings.DESK_MANAGERS)]
        for username, name, group_name in plan:
            group = Group.objects.get(name=group_name)
            first, _, last = name.partition(" ")
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"display_name": name, "first_name": first, "last_name": last,
                          "email": f"{username}@{domain}", "is_staff": group_name == MANAGER_GROUP},
            )
            user.groups.add(group)
            if created:
                chosen = password or secrets.token_urlsafe(12)
                user.set_password(chosen)
                user.save(update_fields=["password"])
                shown = "(from DESK_STAFF_PASSWORD)" if password else chosen
                if remember is not None and not password:
                    remember_password(remember, username, chosen)
                self.stdout.write(f"created {group_name:<22} {username:<16} {name:<16} password: {shown}")
            else:
                self.stdout.write(f"exists  {group_name:<22} {username:<16} {name}")


def remember_password(path: Path, username: str, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{username}\t{password}\n")


def remembered_passwords(path: Path) -> dict[str, str]:
    """What ``--remember`` wrote: username -> password (the last line for a name wins)."""
    if not path.exists():
        return {}
    pairs = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {username: password for username, password in pairs}
