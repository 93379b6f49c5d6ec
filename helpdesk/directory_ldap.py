"""Staff sign-in through the company's LDAP directory (django-auth-ldap).

Configured from the environment (``AUTH_LDAP_*``, config/settings_directory.py ``ldap_settings``);
without ``AUTH_LDAP_SERVER_URI`` this backend is not installed. The person types their directory
username and password into the desk's own sign-in form (django-axes counts the failures as for
any password); the desk binds as them, reads their groups and maps them to desk roles through
``helpdesk.services.directory`` — the same rule as OpenID Connect: no mapped group, no sign-in (and
an existing account loses its desk roles). A directory that cannot be reached is reported on the
sign-in form; the desk's own passwords (the break-glass accounts of ``seed_staff``) still work.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django.http import HttpRequest
from django_auth_ldap.backend import LDAPBackend, ldap_error

from helpdesk.models import User
from helpdesk.services.directory import (
    DIRECTORY_REFUSED,
    DIRECTORY_UNREACHABLE,
    apply_directory_roles,
    note_sign_in_outcome,
    roles_for,
)

log = logging.getLogger(__name__)


def _roles(ldap_user: Any) -> set[str]:
    """The desk roles of the person's groups, by name (``cn``) or by distinguished name."""
    return roles_for([*ldap_user.group_names, *ldap_user.group_dns])


class DirectoryLDAPBackend(LDAPBackend):
    request: HttpRequest | None = None

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        self.request = request  # Django makes a new backend object for each sign-in
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        """Called once the directory accepted the password: refuse people in no mapped group."""
        if not _roles(ldap_user):
            existing = User.objects.filter(username__iexact=username).first()
            if existing is not None:
                apply_directory_roles(existing, set())
            note_sign_in_outcome(self.request, DIRECTORY_REFUSED)
            log.info("directory sign-in refused: %s is in no group mapped to a desk role", username)
            raise ldap_user.AuthenticationFailed("in no group mapped to a desk role")
        user, built = super().get_or_build_user(username, ldap_user)
        return user, built

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> Any:
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is not None:
            apply_directory_roles(user, _roles(ldap_user))
        return user


@receiver(ldap_error, sender=DirectoryLDAPBackend)
def _directory_unreachable(sender: Any, context: str, request: HttpRequest | None = None, exception: Any = None,
                           **kwargs: Any) -> None:
    """django-auth-ldap has logged the error; the sign-in form says the directory did not answer."""
    note_sign_in_outcome(request, DIRECTORY_UNREACHABLE)
