"""Which language a request is answered in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header


def api_language(request: HttpRequest) -> str:
    """The first supported language in ``Accept-Language``; else the language cookie; else Korean.

    The header comes first (Django's own order puts the cookie first): an API client states its
    language on every call, and a desk session's cookie from the same browser must not override it.
    """
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return translation.get_language_from_request(request)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Pages: the URL decides (``/en/…`` English, no prefix Korean). The API: ``Accept-Language``.

    Django gives every unprefixed URL the default language once ``i18n_patterns`` run with
    ``prefix_default_language=False``; API clients have no prefix to choose with, so for ``/api/``
    the header (or the language cookie) decides, Korean by default.
    """

    def process_request(self, request: HttpRequest) -> Any:
        if request.path_info.startswith("/api/"):
            translation.activate(api_language(request))
            request.LANGUAGE_CODE = translation.get_language()
            return None
        return super().process_request(request)


__all__ = ["LocaleMiddleware", "api_language"]
