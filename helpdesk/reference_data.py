"""Reference rows the desk cannot work without: role groups, SLA and retention defaults.

Data migrations create them once; this also runs after every ``migrate`` and ``flush``
(``post_migrate``), so a flushed database (tests, a reset) gets them back. Existing rows,
including managers' edits, are never changed.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission

# The data migrations hold the defaults; reuse them rather than repeat them.
_roles = importlib.import_module("helpdesk.migrations.0002_roles")
_retention = importlib.import_module("helpdesk.migrations.0005_default_retention_policies")
_sla = importlib.import_module("workflows.migrations.0002_default_policies")

LAST_DESK_APP = "notifications"  # post_migrate runs per app; by this one every permission exists


def ensure_reference_data(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if sender.name != LAST_DESK_APP:
        return
    for name, perms in (("manager", _roles.MANAGER_PERMS), ("privacy_administrator", _roles.ADMINISTRATOR_PERMS)):
        group, _ = Group.objects.using(using).get_or_create(name=name)
        for app_label, codename in perms:
            perm = Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                group.permissions.add(perm)
    _sla.seed(global_apps, None)
    _retention.add_defaults(global_apps, None)
