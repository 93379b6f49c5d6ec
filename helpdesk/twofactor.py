"""Optional two-factor sign-in (TOTP, django-otp) for staff.

How it works: any sign-in view (the desk's, the admin's) logs the user in as usual. While the
signed-in user has a confirmed TOTP device but this session has not yet been verified,
:class:`TwoFactorMiddleware` sends every staff page to :func:`verify_view` (the one-time-code
step), and refuses the session-authenticated API with 403. Users without a device are not
affected, so two-factor is opt-in per person: a manager (or the user, in the admin, "TOTP
devices") enrols a device, or ``manage.py enrol_totp USERNAME`` prints the otpauth:// link.

``DESK_REQUIRE_2FA=true`` makes it mandatory for every staff account: a staff member without a
confirmed device is sent to :func:`enrol_view` (scan the link, confirm with a first code) before any
staff page, and the session-authenticated API answers 403 until then.

Wiring (already done in settings): ``django_otp`` and ``django_otp.plugins.otp_totp`` in
INSTALLED_APPS; ``django_otp.middleware.OTPMiddleware`` then this middleware right after
AuthenticationMiddleware; the ``two_factor_verify`` route in config/urls.py. A login view that
wants to ask for the code on the same page can use :class:`OTPTokenForm` and call
:func:`verify_token` itself.
"""

from __future__ import annotations

import base64
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
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.trust import audit
from workflows.roles import is_desk_staff

# Paths that must work before the second factor: the code step itself, signing out, language,
# static files and health checks. Matched after the optional /en/ language prefix.
EXEMPT_PREFIXES = ("/static/", "/healthz/", "/i18n/", "/account/two-factor/", "/desk/logout/", "/admin/logout/")


def needs_enrolment(user: Any) -> bool:
    """DESK_REQUIRE_2FA is on and this staff member has no confirmed device yet."""
    if not settings.DESK_REQUIRE_2FA or not getattr(user, "is_authenticated", False):
        return False
    if not (is_desk_staff(user) or user.is_staff or user.is_superuser):
        return False
    return not any(True for _device in django_otp.devices_for_user(user, confirmed=True))


def needs_second_factor(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return any(True for _device in django_otp.devices_for_user(user, confirmed=True))


def strip_language(path: str) -> str:
    for code, _name in settings.LANGUAGES:
        prefix = f"/{code}/"
        if path.startswith(prefix):
            return path[len(prefix) - 1:]
    return path


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = strip_language(request.path_info)
        if path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        if needs_second_factor(request.user):
            if path.startswith("/api/"):
                return JsonResponse({"detail": str(_("Two-factor verification required."))}, status=403)
            return HttpResponseRedirect(f"{reverse('two_factor_verify')}?next={request.get_full_path()}")
        if needs_enrolment(request.user):
            if path.startswith("/api/"):
                return JsonResponse({"detail": str(_("Two-factor sign-in must be set up first."))}, status=403)
            return HttpResponseRedirect(f"{reverse('two_factor_enrol')}?next={request.get_full_path()}")
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
    next_url = _next_url(request)
    if not needs_second_factor(request.user):
        return HttpResponseRedirect(next_url)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if verify_token(request, form.cleaned_data["otp_token"]):
            return HttpResponseRedirect(next_url)
        form.add_error("otp_token", _("That code is not valid. Use the current code from your app."))
    return render(request, "trust/two_factor_verify.html", {"form": form, "next": next_url})


def _next_url(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    return next_url


ENROLMENT_DEVICE = "Privacy Desk (enrolled at sign-in)"


@never_cache
@sensitive_post_parameters("otp_token")
@login_required
def enrol_view(request: HttpRequest) -> HttpResponse:
    """DESK_REQUIRE_2FA: set up an authenticator app, confirmed by its first code."""
    next_url = _next_url(request)
    if not needs_enrolment(request.user):
        return HttpResponseRedirect(next_url)
    # One pending device per person: reloading the page shows the same secret.
    device, _created = TOTPDevice.objects.get_or_create(user=request.user, name=ENROLMENT_DEVICE, confirmed=False)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            audit.record_event(ticket=None, actor=request.user, action="staff.otp_enrolled",  # type: ignore[arg-type]
                               data={"user": request.user.get_username()})
            return HttpResponseRedirect(next_url)
        form.add_error("otp_token", _("That code is not valid. Use the current code from your app."))
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "trust/two_factor_enrol.html",
                  {"form": form, "next": next_url, "config_url": device.config_url, "secret": secret})
