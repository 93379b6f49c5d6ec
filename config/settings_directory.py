"""Staff sign-in through the company's directory (docs/production.md, "Directory sign-in").

OpenID Connect is on when ``OIDC_RP_CLIENT_ID`` is set; the endpoints are the provider's (its
``/.well-known/openid-configuration`` lists them). ``DESK_DIRECTORY_ROLES`` maps directory groups
to desk roles: ``"privacy-admins=privacy_administrator; desk-managers=manager"``. LDAP is on when
``AUTH_LDAP_SERVER_URI`` is set (:func:`ldap_settings`); both use the same mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DESK_DIRECTORY_ROLES = os.environ.get("DESK_DIRECTORY_ROLES", "")

OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
OIDC_USERNAME_CLAIM = os.environ.get("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
OIDC_BACKEND = "helpdesk.directory.DirectoryOIDCBackend"

# --- LDAP (django-auth-ldap): on when AUTH_LDAP_SERVER_URI is set --------------------------------
# The person types their directory username and password into the desk's own sign-in form; the
# desk binds as them, reads their groups and maps them with DESK_DIRECTORY_ROLES (as for OIDC).
LDAP_BACKEND = "helpdesk.directory_ldap.DirectoryLDAPBackend"
LDAP_GROUP_TYPES = ("groupOfNames", "groupOfUniqueNames", "posixGroup", "nestedGroupOfNames",
                    "activeDirectory", "nestedActiveDirectory")


def ldap_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``AUTH_LDAP_*`` settings django-auth-ldap reads, from environment variables of the same names.

    ``AUTH_LDAP_SERVER_URI`` (``ldap://`` or ``ldaps://``), ``AUTH_LDAP_BIND_DN`` /
    ``AUTH_LDAP_BIND_PASSWORD`` (a read-only service account; empty: anonymous),
    ``AUTH_LDAP_START_TLS``, ``AUTH_LDAP_CA_CERT_FILE``; the person's entry by
    ``AUTH_LDAP_USER_DN_TEMPLATE`` (``uid=%(user)s,ou=people,dc=example,dc=com``) or a search
    (``AUTH_LDAP_USER_SEARCH_BASE`` + ``AUTH_LDAP_USER_SEARCH_FILTER``, default ``(uid=%(user)s)``);
    their groups by ``AUTH_LDAP_GROUP_SEARCH_BASE`` + ``AUTH_LDAP_GROUP_SEARCH_FILTER`` of
    ``AUTH_LDAP_GROUP_TYPE`` (one of LDAP_GROUP_TYPES, default ``groupOfNames``).
    """
    import ldap
    from django_auth_ldap import config as ldap_config

    def setting(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def required(name: str, why: str) -> str:
        if not setting(name):
            raise ImproperlyConfigured(f"AUTH_LDAP_SERVER_URI is set but {name} is empty: {why}")
        return setting(name)

    timeout = float(setting("AUTH_LDAP_TIMEOUT", "5"))  # seconds: a directory that is down fails fast
    options: dict[int, Any] = {ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout, ldap.OPT_REFERRALS: 0}
    if setting("AUTH_LDAP_CA_CERT_FILE"):
        options[ldap.OPT_X_TLS_CACERTFILE] = setting("AUTH_LDAP_CA_CERT_FILE")
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: makes the TLS options above take effect
    conf: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": required("AUTH_LDAP_SERVER_URI", "the directory's address"),
        "AUTH_LDAP_BIND_DN": setting("AUTH_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": env.get("AUTH_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": setting("AUTH_LDAP_START_TLS").lower() in {"1", "true", "yes", "on"},
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_USER_ATTR_MAP": {"email": setting("AUTH_LDAP_EMAIL_ATTR", "mail"),
                                    "display_name": setting("AUTH_LDAP_NAME_ATTR", "cn")},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,  # name, address and roles follow the directory at each sign-in
        "AUTH_LDAP_CACHE_TIMEOUT": 0,  # groups are read at each sign-in, never from a cache
    }
    if setting("AUTH_LDAP_USER_DN_TEMPLATE"):
        conf["AUTH_LDAP_USER_DN_TEMPLATE"] = setting("AUTH_LDAP_USER_DN_TEMPLATE")
    else:
        conf["AUTH_LDAP_USER_SEARCH"] = ldap_config.LDAPSearch(
            required("AUTH_LDAP_USER_SEARCH_BASE", "set it (or AUTH_LDAP_USER_DN_TEMPLATE) to find people"),
            ldap.SCOPE_SUBTREE, setting("AUTH_LDAP_USER_SEARCH_FILTER", "(uid=%(user)s)"))
    group_type = setting("AUTH_LDAP_GROUP_TYPE", "groupOfNames")
    types = dict(zip(LDAP_GROUP_TYPES, (
        ldap_config.GroupOfNamesType, ldap_config.GroupOfUniqueNamesType, ldap_config.PosixGroupType,
        ldap_config.NestedGroupOfNamesType, ldap_config.ActiveDirectoryGroupType,
        ldap_config.NestedActiveDirectoryGroupType), strict=True))
    if group_type not in types:
        raise ImproperlyConfigured(f"AUTH_LDAP_GROUP_TYPE must be one of {', '.join(LDAP_GROUP_TYPES)}")
    default_filter = {"posixGroup": "(objectClass=posixGroup)",
                      "groupOfUniqueNames": "(objectClass=groupOfUniqueNames)",
                      "activeDirectory": "(objectClass=group)", "nestedActiveDirectory": "(objectClass=group)"}
    conf["AUTH_LDAP_GROUP_SEARCH"] = ldap_config.LDAPSearch(
        required("AUTH_LDAP_GROUP_SEARCH_BASE", "the desk roles come from the person's groups"), ldap.SCOPE_SUBTREE,
        setting("AUTH_LDAP_GROUP_SEARCH_FILTER", default_filter.get(group_type, "(objectClass=groupOfNames)")))
    conf["AUTH_LDAP_GROUP_TYPE"] = types[group_type](name_attr="cn")
    return conf


AUTH_LDAP_SERVER_URI = os.environ.get("AUTH_LDAP_SERVER_URI", "").strip()
if AUTH_LDAP_SERVER_URI:
    globals().update(ldap_settings(os.environ))
