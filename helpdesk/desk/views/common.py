"""What every desk view shares: staff-only access, the signed-in user, service errors as answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase

from helpdesk import selectors, services
from helpdesk.models import Ticket, User
from workflows.roles import can_use_desk

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Signed-in desk staff and auditors only: anonymous users go to sign in, other accounts get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_use_desk(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def visible_ticket(request: HttpRequest, reference: str) -> Ticket:
    """The ticket if this staff member may see it; 403 if it exists but is not theirs, else 404."""
    ticket = selectors.ticket_for_user(signed_in_user(request), reference)
    if ticket is None:
        if Ticket.objects.filter(reference=reference).exists():
            raise PermissionDenied  # so it is clear it is about rights
        raise Http404
    return ticket


def add_field_errors(form: Any, errors: dict[str, str]) -> None:
    for field, text in errors.items():
        form.add_error(field if field in form.fields else None, text)


def service_error_page(exc: services.ServiceError, form: Any,
                       render_page: Callable[[int, Any], HttpResponse]) -> HttpResponse:
    """The desk's HTML answer to a service error, by the status the error carries (as the API does).

    403 → Django's permission-denied page; 409 → ``render_page(409, exc)`` (the caller shows the
    fresh state and the reason); 400 → the form again with the field errors.
    """
    if exc.http_status == 403:
        raise PermissionDenied(str(exc)) from exc
    if exc.http_status == 409:
        return render_page(409, exc)
    add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
    return render_page(400, exc)
