"""Staff sign-in through the company's directory: OpenID Connect (mozilla-django-oidc).

Configured from the environment (config/settings_directory.py); without ``OIDC_RP_CLIENT_ID`` the
backend is not installed and these views answer 404. The desk roles come from the person's
directory groups (the ``OIDC_GROUPS_CLAIM`` claim) through ``helpdesk.services.directory``: no
mapped group, no sign-in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from helpdesk.models import User
from helpdesk.services.directory import apply_directory_roles, roles_for


def oidc_enabled() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


class DirectoryOIDCBackend(OIDCAuthenticationBackend):
    """Signs in people the directory puts in a mapped group; their username is the directory's."""

    def _groups(self, claims: dict[str, Any]) -> list[str]:
        value = claims.get(settings.OIDC_GROUPS_CLAIM, [])
        return [value] if isinstance(value, str) else [str(group) for group in value or []]

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(super().verify_claims(claims)) and bool(roles_for(self._groups(claims)))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = self._username(claims)
        return User.objects.filter(username=username) if username else User.objects.none()

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(username=self._username(claims), email=claims.get("email", ""))
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        name = str(claims.get("name") or user.display_name or user.username)
        changed = {"email": claims.get("email", user.email) or user.email, "display_name": name}
        if any(getattr(user, field) != value for field, value in changed.items()):
            for field, value in changed.items():
                setattr(user, field, value)
            user.save(update_fields=list(changed))
        apply_directory_roles(user, roles_for(self._groups(claims)))
        return user

    def _username(self, claims: dict[str, Any]) -> str:
        return str(claims.get(settings.OIDC_USERNAME_CLAIM) or "").strip()


def oidc_authenticate(request: HttpRequest) -> HttpResponse:
    if not oidc_enabled():
        raise Http404
    return OIDCAuthenticationRequestView.as_view()(request)


def oidc_callback(request: HttpRequest) -> HttpResponse:
    if not oidc_enabled():
        raise Http404
    return OIDCAuthenticationCallbackView.as_view()(request)
