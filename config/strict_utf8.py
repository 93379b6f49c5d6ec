"""Form posts and query strings must be valid UTF-8: a clear 400 instead of silent repair.

Django decodes what a browser sends leniently: a broken percent-escape becomes U+FFFD, and a body
with raw invalid bytes is read as Latin-1. Either way the desk would store something other than
what the person sent, without anyone noticing. This middleware checks the query string and, for
``application/x-www-form-urlencoded`` and ``multipart/form-data`` posts, every text field (file
contents are not text and are not checked) before any view or the CSRF check reads them, and
answers 400 with a translated page (the API's error shape under ``/api/``).

Only bodies Django would hold in memory anyway (``DATA_UPLOAD_MAX_MEMORY_SIZE``) are read here;
a bigger body is left to the view, whose size limits refuse it with their own page.

A form post that declares another charset (``charset=latin-1``) is answered 415; a text field sent
with ``Content-Transfer-Encoding: base64`` is checked as Django will decode it (issue 25.12).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.api.exceptions import error_body

__all__ = ["StrictUtf8Middleware", "form_body_is_utf8", "form_charset", "query_is_utf8"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_CHARSET = re.compile(r';\s*charset\s*=\s*"?([^";\s]*)', re.I)
_BASE64_FIELD = re.compile(rb"^content-transfer-encoding:\s*base64\s*$", re.I | re.M)
_FORM_KINDS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def query_is_utf8(raw: bytes) -> bool:
    """Every ``name=value`` of an urlencoded string, percent-decoded, is UTF-8 (and so is the raw text)."""
    if not _utf8(raw):
        return False
    return all(_utf8(unquote_to_bytes(part.replace(b"+", b" "))) for part in raw.split(b"&") if part)


def _multipart_is_utf8(body: bytes, content_type: str) -> bool:
    match = _BOUNDARY.search(content_type)
    if not match:
        return True  # Django refuses it itself
    for part in body.split(b"--" + match.group(1).encode("latin-1")):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if not _utf8(head):
            return False  # field names and filenames
        if b"filename=" in head.lower():
            continue
        value = content.removesuffix(b"\r\n")
        if _BASE64_FIELD.search(head):  # Django decodes such a field itself: check what it will store
            with contextlib.suppress(binascii.Error, ValueError):  # if not, Django keeps the raw text
                value = base64.b64decode(value)
        if not _utf8(value):
            return False
    return True


def form_charset(request: HttpRequest) -> str:
    """The charset a form post declares ("" when none: then it is UTF-8)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.split(";")[0].strip().lower() not in _FORM_KINDS:
        return ""
    match = _CHARSET.search(content_type)
    return match.group(1).strip().lower() if match else ""


def form_body_is_utf8(request: HttpRequest) -> bool:
    content_type = request.META.get("CONTENT_TYPE", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in _FORM_KINDS:
        return True
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if not length or (limit is not None and length > limit):
        return True
    body = request.body
    if kind == "multipart/form-data":
        return _multipart_is_utf8(body, content_type)
    return query_is_utf8(body)


class StrictUtf8Middleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        charset = form_charset(request) if request.method in ("POST", "PUT", "PATCH") else ""
        if charset not in ("", "utf-8", "utf8"):
            # Django would decode the form in that charset (an unknown one raised: a 500, issue 25.12).
            return self._refuse(request, 415, "unsupported_charset", _(
                "Your browser sent the form as “%(charset)s” text. The desk accepts UTF-8 only, so nothing "
                "was saved. Send it again from an up-to-date browser.") % {"charset": charset[:40]})
        query = request.META.get("QUERY_STRING", "")
        raw_query = query.encode("latin-1", "replace") if isinstance(query, str) else query
        if query_is_utf8(raw_query) and (request.method not in ("POST", "PUT", "PATCH") or form_body_is_utf8(request)):
            return None
        message = _("What you sent is not valid UTF-8 text, so nothing was saved. "
                    "Send it again from an up-to-date browser, or paste the text again.")
        return self._refuse(request, 400, "invalid_encoding", message)

    @staticmethod
    def _refuse(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            return JsonResponse(error_body(code, message), status=status)
        return render(request, "bad_encoding.html", {"message": message}, status=status)
