"""Signing in and out, the queues, the "away" switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk.views.common import signed_in_user, staff_required
from helpdesk.models import Ticket
from workflows.roles import is_manager

PAGE_SIZE = 25


class DeskLoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    authentication_form = desk_forms.DeskLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["directory_sign_in"] = bool(settings.OIDC_RP_CLIENT_ID)  # helpdesk/directory.py
        context["directory_password"] = bool(settings.AUTH_LDAP_SERVER_URI)  # helpdesk/directory_ldap.py
        context["directory_refused"] = self.request.GET.get("directory") == "refused"
        return context


class DeskLogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]  # sign out only by POST (CSRF-protected)


class CountedPaginator(Paginator):
    """A paginator told the total in advance (the queue counts query already has it)."""

    def __init__(self, object_list: Any, per_page: int, known_count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if known_count is not None:
            self.__dict__["count"] = known_count  # fills the cached_property, saving a COUNT query

    def page(self, number: Any) -> Page[Any]:
        """Beyond the first page, the page's ids first, then only those rows with what the list
        shows: one query still, but the skipped rows are read from the index alone instead of
        being joined to their requester and assignee (page 200 of 100k tickets: 5,000 joins)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom and isinstance(self.object_list, QuerySet):
            ids = self.object_list.values("pk")[bottom:top]
            return Page(self.object_list.filter(pk__in=ids), number, self)
        return Page(self.object_list[bottom:top], number, self)


@require_GET
@staff_required
def queue(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    user = signed_in_user(request)
    slug = slug or selectors.default_queue(user)
    if slug not in selectors.QUEUE_SLUGS:
        raise Http404
    staff = list(selectors.desk_staff())
    form = desk_forms.QueueFilterForm(request.GET or None, staff=staff)
    filters = selectors.QueueFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.QueueFilters(**{k: v or "" for k, v in form.cleaned_data.items()})
        filters.sort = filters.sort or "due"
    counts = selectors.queue_counts(user)
    tickets = selectors.queue_tickets(user, slug, filters)
    paginator = CountedPaginator(tickets, PAGE_SIZE, None if filters.active else counts[slug])
    page: Page[Ticket] = paginator.get_page(request.GET.get("page"))
    return render(request, "desk/queue.html", {
        "queues": [(q, counts[q.slug]) for q in selectors.QUEUES],
        "counts": counts,
        "current": slug,
        "current_label": next(q.label for q in selectors.QUEUES if q.slug == slug),
        "form": form,
        "filters": filters,
        "page": page,
        "is_manager": is_manager(user),
        "nav": "queues",
    })


@require_POST
@staff_required
def away(request: HttpRequest) -> HttpResponse:
    """The "away" switch: no automatic assignment while it is on."""
    user = signed_in_user(request)
    services.set_away(user=user, away=request.POST.get("away") == "1", actor=user)
    messages.success(request, _("You are away: no new tickets are assigned to you automatically.")
                     if user.is_away else _("Welcome back: new tickets can be assigned to you again."))
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("desk:queue")
    return redirect(target)
