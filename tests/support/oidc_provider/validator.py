"""The provider's claims: who the person is and their directory groups (the Django groups here)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class DirectoryValidator(OAuth2Validator):  # type: ignore[misc]
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {"preferred_username": user.username, "email": user.email, "name": user.get_full_name(),
                "groups": sorted(user.groups.values_list("name", flat=True))}
