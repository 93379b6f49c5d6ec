"""The ticket page and everything done on it: transitions, replies, notes, type, assignment, deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk import next_steps, timeline
from helpdesk.desk.intake_forms import attach_notice_forms, participants_context, representation_context
from helpdesk.desk.views.common import service_error_page, signed_in_user, staff_required, visible_ticket
from helpdesk.fulfilment import selectors as fulfilment_selectors
from helpdesk.models import Ticket, User
from notifications.templates_render import rendered_choices
from workflows import transitions as registry
from workflows.roles import can_act_on_ticket, is_manager, may_take
from workflows.states import TicketState


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, Any] | None = None,
    error: str = "",
    notice_form: Any = None,
) -> HttpResponse:
    """Render the ticket page; ``bound`` replaces a blank form with the one the user submitted."""
    user = signed_in_user(request)
    bound = bound or {}
    detail = selectors.ticket_detail(user, ticket)
    timeline.annotate([entry.event for entry in detail.timeline if entry.event is not None])
    initial: dict[str, Any] = {"version": ticket.version}
    may_act = can_act_on_ticket(user, ticket)
    attach_notice_forms(detail.timeline, may_act, notice_form)  # notices given by phone or post (issue 26)
    panel = fulfilment_selectors.panel(ticket, user)  # issue 13: "Personal data found"
    transition_forms = {
        name: bound.get(f"transition:{name}") or desk_forms.TRANSITION_FORMS[name](initial=initial, prefix=name)
        for name in registry.NAMES
    } if may_act else {}
    steps = next_steps.next_steps(ticket, user, forms=transition_forms, panel=panel)
    reply_initial = dict(initial)
    template_choices = rendered_choices(ticket) if may_act else []
    picked = request.GET.get("template")
    if picked:  # no-JavaScript path: ?template=<pk>:<lang> fills the composer server-side
        reply_initial["body_text"] = next((c["body"] for c in template_choices if c["key"] == picked), "")
    manager = is_manager(user)
    context = {
        "nav": "queues",
        # After a POST re-render (409/400) the address bar shows the action URL; switches go here.
        "page_url": reverse("desk:ticket", kwargs={"reference": ticket.reference}),
        "ticket": ticket,
        "detail": detail,
        "may_act": may_act,
        "is_manager": manager,
        "can_take": may_take(user, ticket),
        "steps": steps,
        "waiting_after_verification": next_steps.waiting_after_verification(ticket),
        "reply_form": bound.get("reply") or desk_forms.ReplyForm(initial=reply_initial),
        "note_form": bound.get("note") or desk_forms.NoteForm(initial=initial),
        "reclassify_form": bound.get("reclassify") or desk_forms.ReclassifyForm(
            initial={**initial, "request_type": ticket.request_type}),
        "assign_form": (bound.get("assign") or desk_forms.AssignForm(
            initial={**initial, "assignee": ticket.assignee_id}, staff=selectors.desk_staff())) if manager else None,
        "extend_form": (bound.get("extend") or desk_forms.ExtendForm(initial=initial))
        if may_act and ticket.is_open else None,
        "template_choices": template_choices,
        "can_respond_in_one_step": may_act and ticket.state == TicketState.PROCESSED,
        "fulfilment": panel,
        # issue 27: the statutory notices given, the fee quoted, the case record
        "notices": ticket.statutory_notices.select_related("attachment").order_by("created_at", "id"),
        "fee_quote": services.latest_quote(ticket),
        "fee_form": (bound.get("fee") or desk_forms.FeeForm(initial=initial)) if may_act and ticket.is_open else None,
        **representation_context(ticket, may_act, bound.get("representation")),  # issue 26
        **participants_context(ticket, may_act, bound.get("participants")),
        "link_form": (bound.get("link") or desk_forms.LinkForm(auto_id="id_link_%s")) if may_act else None,
        "error": error,
    }
    return render(request, "desk/ticket.html", context, status=status)


@require_GET
@staff_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = visible_ticket(request, reference)
    services.record_ticket_view(ticket=ticket, actor=signed_in_user(request))
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
    """Validate ``form``, run ``action`` through the services and answer their errors."""
    ticket = visible_ticket(request, reference)
    if not form.is_valid():
        return _ticket_page(request, ticket, status=400, bound={key: form})
    try:
        action(ticket, signed_in_user(request), form.cleaned_data)
    except services.ServiceError as exc:
        def page(status: int, error: services.ServiceError) -> HttpResponse:
            if status == 400:
                return _ticket_page(request, ticket, status=400, bound={key: form})
            fresh = visible_ticket(request, reference)
            if isinstance(error, services.ConflictError):  # what the user typed is kept
                return _ticket_page(request, fresh, status=409, error=_(
                    "Someone else changed this ticket while you were working on it. Their change is shown "
                    "below; what you typed is kept — check it and submit again."),
                    bound={key: _rebind(form, fresh, **(form_kwargs or {}))})
            return _ticket_page(request, fresh, status=409,
                                error=_("That action is not possible now: %(why)s") % {"why": error})

        return service_error_page(exc, form, page)
    messages.success(request, success)
    return redirect("desk:ticket", reference=reference)


@require_POST
@staff_required
def transition(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    form_class = desk_forms.TRANSITION_FORMS.get(name)
    if form_class is None or registry.REGISTRY[name].own_operation:
        raise Http404

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        version = data.pop("version")
        services.transition_ticket(ticket=ticket, name=name, actor=user, expected_version=version, **data)

    return _act(request, reference, f"transition:{name}", form_class(request.POST, prefix=name), run,
                _("Done: %(action)s.") % {"action": registry.REGISTRY[name].label})


@require_POST
@staff_required
def reply(request: HttpRequest, reference: str) -> HttpResponse:
    and_respond = request.POST.get("and_respond") == "1"

    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.send_reply(ticket=ticket, author=user, body_text=data["body_text"],
                            expected_version=data["version"], and_respond=and_respond,
                            attachments=form.checked_attachments)

    form = desk_forms.ReplyForm(request.POST, request.FILES)
    done = _("Reply sent and ticket marked responded.") if and_respond else _("Reply sent.")
    return _act(request, reference, "reply", form, run, done)


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
    def run(ticket: Ticket, user: User, data: dict[str, Any]) -> None:
        services.extend_deadline(ticket=ticket, actor=user, reason=data["reason"], expected_version=data["version"])

    return _act(request, reference, "extend", desk_forms.ExtendForm(request.POST), run,
                _("Deadline extended; the requester is told why."))
