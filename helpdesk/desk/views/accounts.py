"""Passwords in the desk: each member of staff changes their own; a manager resets another's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from helpdesk import selectors, services
from helpdesk.desk.views.common import signed_in_user, staff_required
from workflows.roles import is_manager


@staff_required
def change_password(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = PasswordChangeForm(user, request.POST or None, auto_id="id_password_%s")
    if request.method == "POST" and form.is_valid():
        services.change_own_password(user=user, new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)  # stay signed in on this device
        messages.success(request, _("Your password was changed."))
        return redirect("desk:queue")
    return render(request, "desk/password.html", {"form": form, "title": _("Change your password")},
                  status=400 if form.is_bound else 200)


@staff_required
def staff_list(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied
    return render(request, "desk/staff.html", {"staff": selectors.desk_staff(), "me": request.user})


@staff_required
def reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    actor = signed_in_user(request)
    if not is_manager(actor):
        raise PermissionDenied
    person = get_object_or_404(selectors.desk_staff().exclude(pk=actor.pk), pk=pk)
    form = SetPasswordForm(person, request.POST or None, auto_id="id_reset_%s")
    if request.method == "POST" and form.is_valid():
        services.reset_password(user=person, new_password=form.cleaned_data["new_password1"], actor=actor)
        messages.success(request, _("%(name)s's password was reset: tell them in person, and ask them to "
                                    "change it after signing in.") % {"name": person})
        return redirect("desk:staff")
    return render(request, "desk/password.html", {"form": form, "person": person,
                                                  "title": _("Reset %(name)s's password") % {"name": person}},
                  status=400 if form.is_bound else 200)
