"""Requester pages: thin views over ``helpdesk.public.services``.

Every refusal is a page the requester can read (translated), never a bare error: too many
requests (429), a request too large (413), a link that does not work (404, one page for every
reason so nothing leaks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from helpdesk.fulfilment.selectors import released_packages
from helpdesk.models import Direction, Message, Ticket
from helpdesk.public import services as public_services
from helpdesk.public import tokens
from helpdesk.public.forms import ContactForm, LostLinkForm, StatusMessageForm, WithdrawForm
from helpdesk.services import ServiceError, normalize_email
from notifications.mail import SEPARATOR
from workflows.calendar import local_date
from workflows.states import OPEN_STATES, TicketState

View = Callable[..., HttpResponse]


# --- Refusal pages -----------------------------------------------------------------------------
def back_url(request: HttpRequest) -> str:
    """Where "Go back" leads: the page the requester came from, if it is ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer
    return reverse("public:contact")


def too_many(request: HttpRequest, *, form: Any = None, template: str = "", context: dict[str, Any] | None = None
             ) -> HttpResponse:
    """429: the form comes back with what was typed (files must be chosen again)."""
    if form is not None and template:
        return render(request, template, {**(context or {}), "form": form, "rate_limited": True}, status=429)
    return render(request, "public/refusal.html", {"kind": "rate_limited", "back_url": back_url(request)},
                  status=429)


def too_large(request: HttpRequest) -> HttpResponse:
    return render(request, "public/refusal.html", {
        "kind": "too_large",
        "back_url": back_url(request),
        "max_mb": settings.DESK_UPLOAD_MAX_BYTES // (1024 * 1024),
        "max_files": settings.DESK_UPLOAD_MAX_FILES,
    }, status=413)


def link_not_valid(request: HttpRequest) -> HttpResponse:
    """One answer for forged, expired, reused and revoked links, and unknown tickets."""
    return render(request, "public/link_invalid.html", status=404)


def bounded_upload(view: View) -> View:
    """Refuse an oversized request before Django reads it, then apply CSRF.

    CSRF checking reads the body, so the size check must come first: the view is exempted from
    the middleware and protected again inside, after the check (Django's documented pattern for
    code that must run before the body is parsed).
    """
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.DESK_PUBLIC_MAX_REQUEST_BYTES:
                return too_large(request)
            try:
                request.POST  # noqa: B018 - parse now, so a too-big body is our page, not a 400
                request.FILES  # noqa: B018
            except (RequestDataTooBig, TooManyFieldsSent):
                return too_large(request)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def limited(request: HttpRequest, group: str, rate: str, key: str | Callable[..., str] = "ip") -> bool:
    """Count this request against a django-ratelimit bucket; True when over the rate."""
    return is_ratelimited(request, group=f"public.{group}", key=key, rate=rate, method="POST", increment=True)


def _email_key(value: str) -> Callable[[str, HttpRequest], str]:
    address = normalize_email(value)
    return lambda _group, _request: address


# --- Contact Us --------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@bounded_upload
def contact(request: HttpRequest) -> HttpResponse:
    template = "public/contact.html"
    if request.method != "POST":
        return render(request, template, {"form": ContactForm()})
    form = ContactForm(request.POST, request.FILES)
    if limited(request, "submit-ip", settings.DESK_RATE_SUBMIT_IP):
        return too_many(request, form=ContactForm(request.POST), template=template)
    valid = form.is_valid()
    if form.is_bot:
        return render(request, template, {"form": form}, status=400)
    if not valid:
        # A browser never refills a file field: say so, and name the files to choose again (issue 28).
        lost = [f.name for f in request.FILES.getlist("attachments")]
        return render(request, template, {"form": form, "files_to_choose_again": lost}, status=400)
    data = form.cleaned_data
    if limited(request, "submit-email", settings.DESK_RATE_SUBMIT_EMAIL, _email_key(data["email"])):
        return too_many(request, form=ContactForm(request.POST), template=template)
    minor = data["under_14"] == "yes"
    ticket = public_services.submit_request(
        request=public_services.ContactRequest(
            request_type=data["request_type"], name=data["name"].strip(), email=data["email"],
            description=data["description"], phone=data["phone"].strip(),
            organization=data["organization"].strip(), language=translation.get_language() or "ko",
            is_minor=minor, guardian_name=data["guardian_name"].strip() if minor else "",
            guardian_email=data["guardian_email"] if minor else "", on_behalf_of=form.on_behalf_of(),
        ),
        attachments=form.checked_attachments,
    )
    request.session["public_submitted"] = {"reference": ticket.reference, "email": ticket.requester.email,
                                           "minor": minor}
    return HttpResponseRedirect(reverse("public:submitted"))


def submitted(request: HttpRequest) -> HttpResponse:
    info = request.session.get("public_submitted")
    if not info:
        return HttpResponseRedirect(reverse("public:contact"))
    return render(request, "public/submitted.html", {
        "reference": info["reference"], "email": info["email"], "minor": info["minor"],
        "link_days": settings.DESK_CONFIRM_LINK_MAX_AGE_DAYS,
    })


@cache
def policy_text() -> str:
    """The published policy, copied from the company's text (shipped with the package)."""
    return (Path(__file__).with_name("privacy_policy.txt")).read_text(encoding="utf-8")


def privacy_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "public/privacy_policy.html", {"policy_text": policy_text()})


# --- Confirmation links ------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; POST uses the link. Mail scanners that prefetch links only GET."""
    return _confirm(request, token, tokens.VERIFY, public_services.confirm_email)


@require_http_methods(["GET", "POST"])
def confirm_guardian(request: HttpRequest, token: str) -> HttpResponse:
    return _confirm(request, token, tokens.GUARDIAN, public_services.confirm_guardian)


def already_confirmed(request: HttpRequest, purpose: str, ticket: Ticket) -> HttpResponse:
    """A genuine confirmation link opened again: it did its work, so say so (no new status link)."""
    return render(request, "public/already_confirmed.html", {"purpose": purpose, "ticket": ticket})


def _confirm(request: HttpRequest, token: str, purpose: str, confirm: Callable[..., Any]) -> HttpResponse:
    try:
        checked = tokens.check_link(token, purpose)
    except tokens.AlreadyUsedLink as used:
        return already_confirmed(request, purpose, used.ticket)
    except tokens.InvalidLink:
        return link_not_valid(request)
    ticket = checked.ticket
    if request.method != "POST":
        return render(request, "public/confirm.html", {"purpose": purpose, "ticket": ticket})
    if limited(request, "link-ip", settings.DESK_RATE_LINK_IP):
        return too_many(request)
    try:
        result = confirm(token=token)
    except tokens.AlreadyUsedLink as used:  # used in the meantime (double click)
        return already_confirmed(request, purpose, used.ticket)
    except tokens.InvalidLink:
        return link_not_valid(request)
    context: dict[str, Any] = {"purpose": purpose, "result": result, "ticket": result.ticket}
    if purpose == tokens.VERIFY:
        context["status_url"] = reverse("public:status", kwargs={"token": tokens.status_token(result.ticket)})
    return render(request, "public/confirmed.html", context)


# --- Status page -------------------------------------------------------------------------------
def _ticket_for(token: str) -> Ticket | None:
    try:
        return tokens.check_link(token, tokens.STATUS).ticket
    except tokens.InvalidLink:
        return None


def _status_context(ticket: Ticket, token: str) -> dict[str, Any]:
    today = local_date(timezone.now())
    due_day = local_date(ticket.due_at)
    messages = [
        m for m in ticket.messages.exclude(direction=Direction.NOTE).select_related("merged_from")
        .prefetch_related("attachments")
        # never internal notes, never ignored automatic mail, never another requester's merged request
        if m.is_public and (m.merged_from is None or m.merged_from.requester_id == ticket.requester_id)
    ]
    language = translation.get_language() or "ko"
    conversation = [(m, _in_language(m.body_text, ticket.requester.language, language)) for m in messages]
    details = getattr(ticket, "web_details", None)
    return {
        "ticket": ticket,
        "token": token,
        "state_text": STATE_TEXT.get(ticket.state, ""),
        "state_label": ticket.get_state_display(),
        "is_open": ticket.state in OPEN_STATES,
        "can_write": ticket.state != TicketState.WITHDRAWN,
        "due_day": due_day,
        "days_left": (due_day - today).days,
        "paused": ticket.state == TicketState.AWAITING_REQUESTER,
        "conversation": conversation,
        "awaiting_guardian": bool(details and details.awaiting_guardian),
        "email_confirmed": bool(details and details.email_verified_at),
        "access_packages": released_packages(ticket),  # issue 13: the requester's copy
        # Issue 26: who else receives the answers (in Cc of every reply).
        "participants": [(p.name or p.email, p.get_role_display())
                         for p in ticket.participants.filter(removed_at__isnull=True).order_by("pk")],
        "now": timezone.now(),
    }


def _in_language(body: str, mail_language: str, language: str) -> str:
    """The page's half of a bilingual desk mail (requester's language first, then the other)."""
    parts = body.split(SEPARATOR.strip())
    if len(parts) != 2:
        return body
    return (parts[0] if language == mail_language else parts[1]).strip("\n -")


def _state_texts() -> dict[str, Any]:
    return {
        TicketState.RECEIVED: gettext_lazy(
            "We have received your request. We are checking that it comes from you before we act on it."),
        TicketState.VERIFIED: gettext_lazy("We have confirmed that the request is yours and are working on it."),
        TicketState.AWAITING_REQUESTER: gettext_lazy(
            "We need something from you before we can continue — see our last message below. "
            "The deadline is paused until you answer."),
        TicketState.PROCESSED: gettext_lazy("We have carried out your request and are preparing our answer."),
        TicketState.RESPONDED: gettext_lazy(
            "We have answered your request. If something is missing, write to us below and we will reopen it."),
        TicketState.REJECTED: gettext_lazy(
            "We could not carry out your request; our message below explains the legal reason. "
            "You can write to us below if you disagree."),
        TicketState.WITHDRAWN: gettext_lazy("You withdrew this request. It is closed."),
        TicketState.MERGED: gettext_lazy("This request was merged into another one about the same matter."),
    }


STATE_TEXT = _state_texts()


@require_http_methods(["GET", "POST"])
@bounded_upload
def status(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_for(token)
    if ticket is None:
        return link_not_valid(request)
    if ticket.state == TicketState.MERGED:
        return _merged(request, ticket)
    form = StatusMessageForm()
    if request.method == "POST":
        if limited(request, "link-ip", settings.DESK_RATE_LINK_IP):
            return too_many(request, form=StatusMessageForm(request.POST), template="public/status.html",
                            context=_status_context(ticket, token))
        form = StatusMessageForm(request.POST, request.FILES)
        if ticket.state != TicketState.WITHDRAWN and form.is_valid():
            public_services.add_requester_message(ticket=ticket, body_text=form.cleaned_data["body"].strip(),
                                                  attachments=form.checked_attachments)
            return HttpResponseRedirect(reverse("public:status", kwargs={"token": token}) + "?sent=1#conversation")
    context = {**_status_context(ticket, token), "form": form, "sent": request.GET.get("sent") == "1"}
    return render(request, "public/status.html", context, status=400 if form.errors else 200)


def _merged(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """A merged request's link (issue 26): to the ticket that stays, or, across requesters, only its progress.

    Same requester: the staying ticket's own status page. Another requester's ticket: neither its
    subject, messages, participants nor requester are shown — its progress and deadline, and this
    requester's own messages, which moved with the merge.
    """
    stays = ticket.merged_into
    if stays is not None and stays.requester_id == ticket.requester_id:
        target = reverse("public:status", kwargs={"token": tokens.status_token(stays)})
        return HttpResponseRedirect(f"{target}?merged={ticket.reference}")
    own = [m for m in Message.objects.filter(merged_from=ticket).exclude(direction=Direction.NOTE)
           .prefetch_related("attachments") if m.is_public]
    language = translation.get_language() or "ko"
    context = {"ticket": ticket, "stays": stays, "state_label": stays.get_state_display() if stays else "",
               "state_text": STATE_TEXT.get(stays.state, "") if stays else "",
               "is_open": bool(stays and stays.is_open), "due_day": local_date(stays.due_at) if stays else None,
               "conversation": [(m, _in_language(m.body_text, ticket.requester.language, language)) for m in own]}
    return render(request, "public/merged.html", context)


@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_for(token)
    if ticket is None:
        return link_not_valid(request)
    status_url = reverse("public:status", kwargs={"token": token})
    if ticket.state not in OPEN_STATES:
        return HttpResponseRedirect(status_url)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST":
        if limited(request, "link-ip", settings.DESK_RATE_LINK_IP):
            return too_many(request)
        if form.is_valid():
            # Closed by staff in the meantime: the status page then says so.
            with contextlib.suppress(ServiceError):
                public_services.withdraw_request(ticket=ticket, reason=form.cleaned_data["reason"])
            return HttpResponseRedirect(status_url + "?withdrawn=1")
    return render(request, "public/withdraw.html", {"ticket": ticket, "form": form, "status_url": status_url},
                  status=400 if form.errors else 200)


# --- Lost link ---------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def lost_link(request: HttpRequest) -> HttpResponse:
    """Always the same answer, whether or not the address has requests: no enumeration."""
    template = "public/lost_link.html"
    form = LostLinkForm(request.POST or None)
    if request.method == "POST":
        if limited(request, "resend-ip", settings.DESK_RATE_RESEND_IP):
            return too_many(request, form=form, template=template)
        if form.is_valid():
            email = form.cleaned_data["email"]
            # Over the per-address rate we skip the mail but answer the same: no hint either way.
            if not form.cleaned_data["website"] and not limited(
                request, "resend-email", settings.DESK_RATE_RESEND_EMAIL, _email_key(email)
            ):
                public_services.resend_status_links(email=email)
            return render(request, template, {"form": LostLinkForm(), "done": True, "email": email})
    return render(request, template, {"form": form}, status=400 if form.errors else 200)
