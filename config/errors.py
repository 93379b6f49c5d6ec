"""The desk's own error pages (``handler404`` / ``handler500``), used whenever DEBUG is off.

A wrong URL gets a plain, translated page — never Django's debug page with its URL list and
settings. Under ``/api/`` the same errors are the API's one error shape, in the language of
``Accept-Language`` (the locale middleware has activated it).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.api.exceptions import error_body

__all__ = ["page_not_found", "server_error"]


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No template logic that could fail again: a short fixed page (or body) in the active language.
    if _is_api(request):
        return JsonResponse(error_body("server_error", _("Something went wrong on our side. Please try again later.")),
                            status=500)
    return HttpResponse(
        "<!doctype html><title>500</title><h1>{}</h1>".format(
            _("Something went wrong on our side. Please try again later.")),
        status=500, content_type="text/html; charset=utf-8",
    )
