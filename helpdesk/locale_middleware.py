"""Which language a request is answered in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Pages: the URL decides (``/en/…`` English, no prefix Korean). The API: ``Accept-Language``.

    Django gives every unprefixed URL the default language once ``i18n_patterns`` run with
    ``prefix_default_language=False``; API clients have no prefix to choose with, so for ``/api/``
    the header (or the language cookie) decides, Korean by default.
    """

    def process_request(self, request: HttpRequest) -> Any:
        if request.path_info.startswith("/api/"):
            translation.activate(translation.get_language_from_request(request))
            request.LANGUAGE_CODE = translation.get_language()
            return None
        return super().process_request(request)


__all__ = ["LocaleMiddleware"]
