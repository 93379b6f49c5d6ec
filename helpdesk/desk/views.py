"""The administrators' desk: queues, the ticket page, acting on tickets, quarantine review.

Views stay thin: reads come from :mod:`helpdesk.selectors`, writes go through
:mod:`helpdesk.services`, whose errors become 409 (conflict), 403 (permission) or 400 (guard).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.models import Attachment, Message, Quarantine, QuarantineStatus, Ticket, User
from helpdesk.roles import can_act_on_ticket, can_view_ticket, is_administrator, is_desk_staff, is_manager
from notifications.templates_render import rendered_choices
from workflows.states import TicketState

PAGE_SIZE = 25

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Signed-in desk staff only: anonymous users go to sign in, other accounts get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_desk_staff(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- Sign-in ------------------------------------------------------------------------------------
class DeskLoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    authentication_form = desk_forms.DeskLoginForm
    redirect_authenticated_user = True


class DeskLogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]  # sign out only by POST (CSRF-protected)


# --- Queues -------------------------------------------------------------------------------------
class CountedPaginator(Paginator):
    """A paginator told the total in advance (the queue counts query already has it)."""

    def __init__(self, object_list: Any, per_page: int, known_count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if known_count is not None:
            self.__dict__["count"] = known_count  # fills the cached_property, saving a COUNT query


@require_GET
@staff_required
def queue(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    user = _user(request)
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


# --- The ticket page ----------------------------------------------------------------------------
def _get_ticket(request: HttpRequest, reference: str) -> Ticket:
    ticket = selectors.ticket_for_user(_user(request), reference)
    if ticket is None:
        # Existing but not visible: 403, so it is clear it is about rights; unknown: 404.
        if Ticket.objects.filter(reference=reference).exists():
            raise PermissionDenied
        raise Http404
    return ticket


def _extend_deadline() -> Callable[..., Any] | None:
    """``workflows.services.extend_deadline`` when that part of the desk is installed."""
    try:
        module = importlib.import_module("workflows.services")
    except ImportError:
        return None
    return getattr(module, "extend_deadline", None)


def _available_transitions(ticket: Ticket, user: User) -> list[str]:
    names = {t.name for t in ticket.get_available_user_state_transitions(user)}  # type: ignore[attr-defined]
    return [n for n in desk_forms.TRANSITION_ORDER if n in names]


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, Any] | None = None,
    error: str = "",
) -> HttpResponse:
    """Render the ticket page; ``bound`` replaces a blank form with the one the user submitted."""
    user = _user(request)
    bound = bound or {}
    detail = selectors.ticket_detail(user, ticket)
    initial: dict[str, Any] = {"version": ticket.version}
    may_act = can_act_on_ticket(user, ticket)
    transitions = []
    if may_act:
        for name in _available_transitions(ticket, user):
            form = bound.get(f"transition:{name}") or desk_forms.TRANSITION_FORMS[name](
                initial=initial, prefix=name)
            transitions.append({"name": name, "label": desk_forms.TRANSITION_LABELS[name], "form": form})
    reply_initial = dict(initial)
    template_choices = rendered_choices(ticket) if may_act else []
    picked = request.GET.get("template")
    if picked:  # no-JavaScript path: ?template=<pk>:<lang> fills the composer server-side
        reply_initial["body_text"] = next((c["body"] for c in template_choices if c["key"] == picked), "")
    manager = is_manager(user)
    extend = _extend_deadline()
    context = {
        "nav": "queues",
        # After a POST re-render (409/400) the address bar shows the action URL; switches go here.
        "page_url": reverse("desk:ticket", kwargs={"reference": ticket.reference}),
        "ticket": ticket,
        "detail": detail,
        "may_act": may_act,
        "is_manager": manager,
        "can_take": is_administrator(user) and ticket.assignee_id is None and ticket.is_open,
        "transitions": transitions,
        "reply_form": bound.get("reply") or desk_forms.ReplyForm(initial=reply_initial),
        "note_form": bound.get("note") or desk_forms.NoteForm(initial=initial),
        "reclassify_form": bound.get("reclassify") or desk_forms.ReclassifyForm(
            initial={**initial, "request_type": ticket.request_type}),
        "assign_form": (bound.get("assign") or desk_forms.AssignForm(
            initial={**initial, "assignee": ticket.assignee_id}, staff=selectors.desk_staff())) if manager else None,
        "extend_form": (bound.get("extend") or desk_forms.ExtendForm(initial=initial))
        if extend and may_act and ticket.is_open else None,
        "template_choices": template_choices,
        "can_respond_in_one_step": may_act and ticket.state == TicketState.PROCESSED,
        "error": error,
    }
    return render(request, "desk/ticket.html", context, status=status)


@require_GET
@staff_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = _get_ticket(request, reference)
    services.record_ticket_view(ticket=ticket, actor=_user(request))
    return _ticket_page(request, ticket)


def _rebind(form: Any, ticket: Ticket, **kwargs: Any) -> Any:
    """The submitted form again, with the current version: what the user typed is kept."""
    data = form.data.copy()
    data[form.add_prefix("version")] = str(ticket.version)
    rebound = type(form)(data, prefix=form.prefix, **kwargs)
    rebound.is_valid()
    return rebound


def _act(
    request: HttpRequest,
    reference: str,
    key: str,
    form: Any,
    action: Callable[[Ticket, User, dict[str, Any]], Any],
    success: str,
    form_kwargs: dict[str, Any] | None = None,
) -> HttpResponse:
    """Validate ``form``, run ``action`` through the services and map their errors to responses."""
    ticket = _get_ticket(request, reference)
    user = _user(request)
    form_kwargs = form_kwargs or {}
    if not form.is_valid():
        return _ticket_page(request, ticket, status=400, bound={key: form})
    try:
        action(ticket, user, form.cleaned_data)
    except services.ConflictError:
        fresh = _get_ticket(request, reference)
        error = _("Someone else changed this ticket while you were working on it. Their change is shown "
                  "below; what you typed is kept — check it and submit again.")
        return _ticket_page(request, fresh, status=409, bound={key: _rebind(form, fresh, **form_kwargs)},
                            error=error)
    except services.TransitionNotAllowedError as exc:
        fresh = _get_ticket(request, reference)
        return _ticket_page(request, fresh, status=409, error=_("That action is not possible now: %(why)s")
                            % {"why": exc})
    except services.PermissionDeniedError as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.GuardError as exc:
        for field, text in exc.errors.items():
            form.add_error(field if field in form.fields else None, text)
        return _ticket_page(request, ticket, status=400, bound={key: form})
    messages.success(request, success)
    return redirect("desk:ticket", reference=reference)


@require_POST
@staff_required
def transition(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    form_class = desk_forms.TRANSITION_FORMS.get(name)
    if form_class is None:
        raise Http404

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        version = data.pop("version")
        services.transition_ticket(ticket=ticket, name=name, actor=user, expected_version=version, **data)

    return _act(request, reference, f"transition:{name}", form_class(request.POST, prefix=name), run,
                _("Done: %(action)s.") % {"action": desk_forms.TRANSITION_LABELS[name]})


@require_POST
@staff_required
def reply(request: HttpRequest, reference: str) -> HttpResponse:
    and_respond = request.POST.get("and_respond") == "1"

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.send_reply(ticket=ticket, author=user, body_text=data["body_text"],
                            expected_version=data["version"], and_respond=and_respond)

    done = _("Reply sent and ticket marked responded.") if and_respond else _("Reply sent.")
    return _act(request, reference, "reply", desk_forms.ReplyForm(request.POST), run, done)


@require_POST
@staff_required
def note(request: HttpRequest, reference: str) -> HttpResponse:
    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        # Notes only append; they cannot clobber anyone's change, so no version check.
        services.add_note(ticket=ticket, author=user, body_text=data["body_text"])

    return _act(request, reference, "note", desk_forms.NoteForm(request.POST), run, _("Note added."))


@require_POST
@staff_required
def reclassify(request: HttpRequest, reference: str) -> HttpResponse:
    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.reclassify(ticket=ticket, request_type=data["request_type"], actor=user,
                            expected_version=data["version"])

    return _act(request, reference, "reclassify", desk_forms.ReclassifyForm(request.POST), run,
                _("Request type changed; the deadline was recomputed."))


@require_POST
@staff_required
def assign(request: HttpRequest, reference: str) -> HttpResponse:
    """A manager reassigns (or unassigns) a ticket."""
    staff = selectors.desk_staff()

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.assign_ticket(ticket=ticket, assignee=data["assignee"], actor=user,
                               expected_version=data["version"])

    return _act(request, reference, "assign", desk_forms.AssignForm(request.POST, staff=staff), run,
                _("Assignment changed."), form_kwargs={"staff": staff})


@require_POST
@staff_required
def take(request: HttpRequest, reference: str) -> HttpResponse:
    """An administrator takes an unassigned ticket."""

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.assign_ticket(ticket=ticket, assignee=user, actor=user, expected_version=data["version"])

    return _act(request, reference, "take", desk_forms.VersionedForm(request.POST), run,
                _("The ticket is yours now."))


@require_POST
@staff_required
def extend(request: HttpRequest, reference: str) -> HttpResponse:
    extend_deadline = _extend_deadline()
    if extend_deadline is None:
        raise Http404

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        extend_deadline(ticket=ticket, actor=user, reason=data["reason"], expected_version=data["version"])

    return _act(request, reference, "extend", desk_forms.ExtendForm(request.POST), run,
                _("Deadline extended; the requester is told why."))


@require_POST
@staff_required
def away(request: HttpRequest) -> HttpResponse:
    """The "away" switch: no automatic assignment while it is on."""
    user = _user(request)
    services.set_away(user=user, away=request.POST.get("away") == "1", actor=user)
    messages.success(request, _("You are away: no new tickets are assigned to you automatically.")
                     if user.is_away else _("Welcome back: new tickets can be assigned to you again."))
    target = request.POST.get("next") or ""
    from django.utils.http import url_has_allowed_host_and_scheme

    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("desk:queue")
    return redirect(target)


# --- Downloads: permission-checked, never a public URL ------------------------------------------
def _private_file(file_field: Any, filename: str, content_type: str) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@staff_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
    ticket = attachment.message.ticket
    if not can_view_ticket(request.user, ticket):
        raise PermissionDenied
    services.record_ticket_access(ticket=ticket, actor=_user(request), action="attachment.downloaded",
                                  data={"attachment": attachment.pk, "filename": attachment.filename})
    # Always as an opaque download: the browser must never render requester-supplied content.
    return _private_file(attachment.file, attachment.filename, "application/octet-stream")


@require_GET
@staff_required
def raw_message_download(request: HttpRequest, pk: int) -> FileResponse:
    message = get_object_or_404(Message.objects.select_related("ticket"), pk=pk)
    if not can_view_ticket(request.user, message.ticket) or not message.raw_message:
        raise PermissionDenied if message.raw_message else Http404
    services.record_ticket_access(ticket=message.ticket, actor=_user(request), action="message.raw_downloaded",
                                  data={"message": message.pk})
    return _private_file(message.raw_message, f"{message.ticket.reference}-{message.pk}.eml", "message/rfc822")


# --- Quarantine review ----------------------------------------------------------------------------
@require_GET
@staff_required
def quarantine_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", QuarantineStatus.PENDING)
    if status not in QuarantineStatus.values and status != "":
        status = QuarantineStatus.PENDING
    items: QuerySet[Quarantine] = selectors.quarantine_list(status)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "desk/quarantine_list.html", {
        "page": page, "status": status, "statuses": QuarantineStatus.choices,
        "nav": "quarantine",
    })


def _quarantine_page(request: HttpRequest, item: Quarantine, *, status: int = 200,
                     bound: dict[str, Any] | None = None, error: str = "") -> HttpResponse:
    bound = bound or {}
    preview, truncated = selectors.raw_preview(item.raw_message)
    return render(request, "desk/quarantine_detail.html", {
        "item": item,
        "preview": preview,
        "truncated": truncated,
        "convert_form": bound.get("convert") or desk_forms.QuarantineConvertForm(
            initial={"sender_email": _address_of(item.sender), "request_type": "other"}),
        "attach_form": bound.get("attach") or desk_forms.QuarantineAttachForm(),
        "discard_form": bound.get("discard") or desk_forms.QuarantineDiscardForm(),
        "error": error,
        "nav": "quarantine",
        "page_url": reverse("desk:quarantine_detail", kwargs={"pk": item.pk}),
    }, status=status)


def _address_of(sender: str) -> str:
    from email.utils import parseaddr

    address = parseaddr(sender)[1]
    return address if "@" in address else ""


@require_GET
@staff_required
def quarantine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _quarantine_page(request, get_object_or_404(Quarantine, pk=pk))


@require_GET
@staff_required
def quarantine_raw(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(Quarantine, pk=pk)
    return _private_file(item.raw_message, f"quarantine-{item.pk}.eml", "message/rfc822")


@require_POST
@staff_required
def quarantine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    item = get_object_or_404(Quarantine, pk=pk)
    user = _user(request)
    form: Any
    try:
        if action == "convert":
            form = desk_forms.QuarantineConvertForm(request.POST)
            if form.is_valid():
                ticket = services.convert_quarantine_to_ticket(
                    quarantine_pk=item.pk, actor=user, request_type=form.cleaned_data["request_type"],
                    sender_email=form.cleaned_data["sender_email"], sender_name=form.cleaned_data["sender_name"])
                messages.success(request, _("Ticket %(ref)s opened from the message.") % {"ref": ticket.reference})
                return redirect("desk:ticket", reference=ticket.reference)
        elif action == "attach":
            form = desk_forms.QuarantineAttachForm(request.POST)
            if form.is_valid():
                ref = form.cleaned_data["reference"].strip().upper()
                target = selectors.ticket_for_user(user, ref)
                if target is None:
                    form.add_error("reference", _("No ticket %(ref)s that you can see.") % {"ref": ref})
                else:
                    services.attach_quarantine_to_ticket(quarantine_pk=item.pk, actor=user, ticket=target)
                    messages.success(request, _("The message was added to %(ref)s.") % {"ref": ref})
                    return redirect("desk:ticket", reference=ref)
        elif action == "discard":
            form = desk_forms.QuarantineDiscardForm(request.POST)
            if form.is_valid():
                services.discard_quarantine(quarantine_pk=item.pk, actor=user, reason=form.cleaned_data["reason"])
                messages.success(request, _("Discarded. The raw message is kept for the retention period."))
                return redirect("desk:quarantine")
        else:
            raise Http404
    except services.ConflictError:
        item.refresh_from_db()
        return _quarantine_page(request, item, status=409, error=_("Someone else already reviewed this message."))
    except services.PermissionDeniedError as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.GuardError as exc:
        for field, text in exc.errors.items():
            form.add_error(field if field in form.fields else None, text)
    return _quarantine_page(request, item, status=400, bound={action: form})
