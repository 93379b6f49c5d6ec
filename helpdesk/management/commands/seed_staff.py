"""Create the privacy administrators named in the policy and a manager (idempotent).

Accounts come from settings (``DESK_ADMINISTRATORS``, ``DESK_MANAGERS``: "username:Full Name").
Passwords come from ``DESK_STAFF_PASSWORD`` or are generated and printed once, on creation only.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
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

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
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
                self.stdout.write(f"created {group_name:<22} {username:<16} {name:<16} password: {shown}")
            else:
                self.stdout.write(f"exists  {group_name:<22} {username:<16} {name}")
