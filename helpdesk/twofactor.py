"""Optional two-factor sign-in (TOTP, django-otp) for staff.

How it works: any sign-in view (the desk's, the admin's) logs the user in as usual. While the
signed-in user has a confirmed TOTP device but this session has not yet been verified,
:class:`TwoFactorMiddleware` sends every staff page to :func:`verify_view` (the one-time-code
step), and refuses the session-authenticated API with 403. Users without a device are not
affected, so two-factor is opt-in per person: a manager (or the user, in the admin, "TOTP
devices") enrols a device, or ``manage.py enrol_totp USERNAME`` prints the otpauth:// link.

Wiring (already done in settings): ``django_otp`` and ``django_otp.plugins.otp_totp`` in
INSTALLED_APPS; ``django_otp.middleware.OTPMiddleware`` then this middleware right after
AuthenticationMiddleware; the ``two_factor_verify`` route in config/urls.py. A login view that
wants to ask for the code on the same page can use :class:`OTPTokenForm` and call
:func:`verify_token` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from helpdesk.trust import audit

# Paths that must work before the second factor: the code step itself, signing out, language,
# static files and health checks. Matched after the optional /en/ language prefix.
EXEMPT_PREFIXES = ("/static/", "/healthz/", "/i18n/", "/account/two-factor/", "/desk/logout/", "/admin/logout/")


def needs_second_factor(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return any(True for _device in django_otp.devices_for_user(user, confirmed=True))


def _strip_language(path: str) -> str:
    for code, _name in settings.LANGUAGES:
        prefix = f"/{code}/"
        if path.startswith(prefix):
            return path[len(prefix) - 1:]
    return path


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = _strip_language(request.path_info)
        if not path.startswith(EXEMPT_PREFIXES) and needs_second_factor(request.user):
            if path.startswith("/api/"):
                return JsonResponse({"detail": str(_("Two-factor verification required."))}, status=403)
            target = reverse("two_factor_verify")
            return HttpResponseRedirect(f"{target}?next={request.get_full_path()}")
        return self.get_response(request)


class OTPTokenForm(forms.Form):
    otp_token = forms.CharField(
        label=_("One-time code"), max_length=8, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True, "pattern": "[0-9]*"}),
    )


def verify_token(request: HttpRequest, token: str) -> bool:
    """Check a code against the user's devices; on success mark the session verified (audited)."""
    device = django_otp.match_token(request.user, token.strip())
    if device is None:
        audit.record_event(ticket=None, actor=request.user, action="staff.otp_failed", data={})  # type: ignore[arg-type]
        return False
    django_otp.login(request, device)
    audit.record_event(ticket=None, actor=request.user, action="staff.otp_verified", data={})  # type: ignore[arg-type]
    return True


@never_cache
@sensitive_post_parameters("otp_token")
@login_required
def verify_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    if not needs_second_factor(request.user):
        return HttpResponseRedirect(next_url)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if verify_token(request, form.cleaned_data["otp_token"]):
            return HttpResponseRedirect(next_url)
        form.add_error("otp_token", _("That code is not valid. Use the current code from your app."))
    return render(request, "trust/two_factor_verify.html", {"form": form, "next": next_url})
