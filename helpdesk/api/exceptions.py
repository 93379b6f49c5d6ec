"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``.

DRF's own exceptions and the desk's service errors (:mod:`helpdesk.services.errors`, which carry
their HTTP status and code — the desk answers them by the same status) both end up here, so
a client handles a version conflict from the service exactly like a 404 from the router.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk import services


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    """DRF error details → plain strings / lists / dicts."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, services.ServiceError):  # the status and code each error class carries
        fields = dict(exc.errors) if isinstance(exc, services.GuardError) else {}
        message = str(exc) if not fields else _("The request needs more information.")
        return Response(error_body(exc.code, message, fields), status=exc.http_status)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling log it
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ParseError):
        # DRF's text carries the parser's English message ("Expecting property name…"): one translated sentence.
        response.data = error_body("parse_error",
                                   _("The request body could not be read: send valid JSON or form data."))
    elif isinstance(exc, exceptions.ValidationError):
        detail = _flatten(exc.detail)
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body("invalid", _("Some fields are not valid."), fields)
    else:
        codes = exc.get_codes()
        response.data = error_body(codes if isinstance(codes, str) else "error", str(exc.detail))
    return response
