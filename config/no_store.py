"""``Cache-Control: no-store`` on every page that shows a person's data.

A shared family computer or a phone browser must not keep a requester's status page, and a staff
member's browser must not keep desk pages, in its cache or its back/forward history. Which pages:
everything under the desk, the dashboard and the admin (staff), the two-factor step, the API, and
the requester's own pages (status, withdraw, the confirmation links, the thank-you page, the package
download and its "gone" page, the lost-link page), and the Contact Us form when it answers a post
(it shows what was typed). The empty form and the privacy policy stay cacheable.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

__all__ = ["NO_STORE_NAMESPACES", "NO_STORE_VIEWS", "NoStoreMiddleware", "is_personal"]

NO_STORE_NAMESPACES = frozenset({"desk", "dashboard", "admin", "api"})
NO_STORE_VIEWS = frozenset({
    "public:status", "public:withdraw", "public:confirm_email", "public:confirm_guardian", "public:submitted",
    "public:lost_link", "fulfilment:requester_download", "two_factor_verify",
})
# Pages that carry what a person typed only when they answer a post: the Contact Us form shown
# again with its errors (issue 25.13). The empty form stays cacheable.
NO_STORE_POSTED_VIEWS = frozenset({"public:contact"})
NO_STORE_PREFIXES = ("/api/", "/desk/", "/admin/")  # also when nothing resolved (a 404 inside them)


def is_personal(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is not None and (NO_STORE_NAMESPACES.intersection(match.namespaces) or match.view_name in NO_STORE_VIEWS):
        return True
    if match is not None and match.view_name in NO_STORE_POSTED_VIEWS and request.method != "GET":
        return True
    path = request.path_info.removeprefix("/en")
    return path.startswith(NO_STORE_PREFIXES)


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_personal(request):
            add_never_cache_headers(response)  # no-store, no-cache, must-revalidate, private, max-age=0
        return response
