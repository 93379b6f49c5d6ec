"""Staff sign-in through the company's directory (docs/production.md, "Directory sign-in").

OpenID Connect is on when ``OIDC_RP_CLIENT_ID`` is set; the endpoints are the provider's (its
``/.well-known/openid-configuration`` lists them). ``DESK_DIRECTORY_ROLES`` maps directory groups
to desk roles: ``"privacy-admins=privacy_administrator; desk-managers=manager"``.
"""

from __future__ import annotations

import os

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
