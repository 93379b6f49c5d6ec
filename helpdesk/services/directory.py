"""Desk roles from the company's directory: a directory sign-in (OpenID Connect, LDAP) carries the
person's directory groups, and ``DESK_DIRECTORY_ROLES`` maps them to desk roles.

The mapping is the one rule: a person whose groups map to no desk role may not sign in, and each
sign-in sets the desk roles to exactly what the directory says now (a group removed in the
directory removes the role at the next sign-in). Groups that are not desk roles are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from helpdesk.models import User
from workflows.roles import ADMINISTRATOR_GROUP, AUDITOR_GROUP, MANAGER_GROUP

DESK_ROLES = (ADMINISTRATOR_GROUP, MANAGER_GROUP, AUDITOR_GROUP)


def parse_role_map(text: str) -> dict[str, str]:
    """``"privacy-admins=privacy_administrator; cn=desk,ou=groups,dc=example=manager"`` → mapping.

    Pairs are separated by ``;`` (LDAP names contain commas); the role follows the last ``=``.
    """
    mapping: dict[str, str] = {}
    for pair in text.split(";"):
        if not pair.strip():
            continue
        group, sep, role = pair.rpartition("=")
        if not sep or not group.strip() or role.strip() not in DESK_ROLES:
            raise ValueError(f"DESK_DIRECTORY_ROLES: {pair.strip()!r} is not 'directory group=role' with a role "
                             f"among {', '.join(DESK_ROLES)}")
        mapping[group.strip().lower()] = role.strip()
    return mapping


def roles_for(directory_groups: Iterable[str]) -> set[str]:
    mapping = parse_role_map(settings.DESK_DIRECTORY_ROLES)
    return {mapping[group.strip().lower()] for group in directory_groups if group.strip().lower() in mapping}


@transaction.atomic
def apply_directory_roles(user: User, roles: set[str]) -> None:
    """Make ``user``'s desk roles exactly ``roles`` (their other groups are kept)."""
    current = set(user.groups.filter(name__in=DESK_ROLES).values_list("name", flat=True))
    if current - roles:
        user.groups.remove(*Group.objects.filter(name__in=current - roles))
    if roles - current:
        user.groups.add(*Group.objects.filter(name__in=roles - current))
    is_staff = MANAGER_GROUP in roles  # the Django admin, as seed_staff gives it
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_desk_group_names", None)  # workflows.roles caches the names on the object


# What a directory sign-in attempt ended with, for the sign-in form's message (a request attribute:
# the authentication backends see the request, the form reads it after authenticate() failed).
DIRECTORY_REFUSED = "refused"  # the directory knows the person, but no group of theirs is a desk role
DIRECTORY_UNREACHABLE = "unreachable"  # the directory did not answer (or answered with an error)


def note_sign_in_outcome(request: object, outcome: str) -> None:
    if request is not None:
        request.desk_directory_outcome = outcome  # type: ignore[attr-defined]


def sign_in_outcome(request: object) -> str:
    return str(getattr(request, "desk_directory_outcome", ""))
