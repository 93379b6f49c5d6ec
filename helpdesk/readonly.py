"""The auditor role changes nothing: any unsafe request (POST, PUT, PATCH, DELETE) by a read-only
account is refused here, whatever page or endpoint it aims at. Signing out, the two-factor steps
and the language switch stay open. The API's permissions refuse token-authenticated writes too
(helpdesk/api/permissions.py); acting on a ticket is refused by ``can_act_on_ticket`` as well.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from helpdesk.twofactor import EXEMPT_PREFIXES, strip_language
from workflows.roles import is_read_only

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyRoleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS and is_read_only(request.user):
            path = strip_language(request.path_info)
            if not path.startswith(EXEMPT_PREFIXES):
                if path.startswith("/api/"):
                    return JsonResponse({"detail": _("The auditor role can only read.")}, status=403)
                raise PermissionDenied(_("The auditor role can only read."))
        return self.get_response(request)
