"""The address the desk's links in mail point at.

Production (and any setup that sets ``DESK_BASE_URL``) uses the configured address: it never trusts
a request's ``Host``. In development (``make run``: DEBUG on, no ``DESK_BASE_URL``) the desk may
run on any port, so a mail sent while a request is served — in-process tasks run inside that
request — links to the address that request came in on (``request.get_host()``, checked against
``ALLOWED_HOSTS``). Mail sent outside any request (a cron sweep) falls back to ``DESK_BASE_URL``'s
default.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

__all__ = ["RequestOriginMiddleware", "desk_base_url"]

_request_origin: ContextVar[str | None] = ContextVar("desk_request_origin", default=None)


def desk_base_url() -> str:
    """``https://desk.example.com`` (no trailing slash)."""
    if getattr(settings, "DESK_BASE_URL_FROM_REQUEST", False):
        origin = _request_origin.get()
        if origin:
            return origin
    return str(settings.DESK_BASE_URL).rstrip("/")


class RequestOriginMiddleware:
    """Remembers, in development only, the scheme and host the current request was served on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not getattr(settings, "DESK_BASE_URL_FROM_REQUEST", False):
            return self.get_response(request)
        token = _request_origin.set(f"{request.scheme}://{request.get_host()}")
        try:
            return self.get_response(request)
        finally:
            _request_origin.reset(token)
