"""Template helpers for the desk: times in the desk's zone, deadlines, safe bodies, query strings."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import nh3
from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.intake.email.htmltext import REMOTE_IMAGE_BLOCKED, has_blocked_remote_images
from workflows.roles import is_administrator, is_manager
from workflows.states import TicketState, VerificationMethod

register = template.Library()


@register.filter
def desk_time(value: datetime | None) -> str:
    """``2026-11-25 14:03 KST``: every time the desk shows carries its zone."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@register.filter
def desk_date(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{timezone.localtime(value):%Y-%m-%d}"


@register.simple_tag
def days_left_label(days: int) -> str:
    if days > 0:
        return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}
    if days == 0:
        return _("due today")
    return ngettext("%(n)d day overdue", "%(n)d days overdue", -days) % {"n": -days}


@register.filter
def days_left(ticket: Any) -> str:
    """The queue's "days left" cell: paused, due today, n days left / overdue (in the desk's calendar)."""
    if not getattr(ticket, "is_open", False):
        return _("closed")
    if getattr(ticket, "paused_at", None) is not None:
        return _("paused")
    return days_left_label((timezone.localtime(ticket.due_at).date() - timezone.localdate()).days)


@register.filter
def due_class(ticket: Any) -> str:
    """CSS class for a deadline: overdue, due soon or fine (open tickets only)."""
    if not getattr(ticket, "is_open", False):
        return "due-closed"
    if getattr(ticket, "paused_at", None) is not None:
        return "due-paused"  # the clock is stopped while we wait for the requester: not "fine", not urgent
    remaining = (ticket.due_at - timezone.now()).total_seconds()
    if remaining < 0:
        return "due-overdue"
    if remaining < 3 * 86400:
        return "due-soon"
    return "due-ok"


_RENDER_SCHEMES = {"http", "https", "mailto", "tel", "cid"}  # cid: only so the placeholder reaches the filter


def _render_image_source(tag: str, attribute: str, value: str) -> str | None:
    """Intake's remote-image placeholder becomes the desk's own picture; no other image source is
    fetched (inline ``cid:`` parts are listed as attachments under the message)."""
    if tag == "img" and attribute == "src":
        return static("desk/remote-image-blocked.svg") if value == REMOTE_IMAGE_BLOCKED else None
    return value


@register.filter
def sanitized_html(value: str) -> SafeString:
    """The stored ``body_html`` is sanitized at intake; cleaning again here is cheap insurance."""
    return mark_safe(nh3.clean(value or "", link_rel="noopener noreferrer nofollow",  # noqa: S308
                               url_schemes=_RENDER_SCHEMES, attribute_filter=_render_image_source))


@register.filter
def remote_images_blocked(value: str) -> bool:
    """For the "remote images were blocked" note above a message (intake recorded it in the HTML)."""
    return has_blocked_remote_images(value or "")


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters replaced (for sorting and paging links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def dashboard_url() -> str:
    """The managers' dashboard, wherever its URLconf names it (built by another part of the desk)."""
    for name in ("desk:dashboard", "dashboard:index", "dashboard"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("desk:queue") + "dashboard/"


@cache
def _choice_labels(model: Any, field_name: str) -> dict[Any, Any]:
    """A field's choices as a dict, built once per field (the labels stay lazy, so translated
    when shown)."""
    return dict(model._meta.get_field(field_name).flatchoices)


@register.filter
def display(obj: Any, field_name: str) -> str:
    """``{{ ticket|display:"request_type" }}``: the same text as ``ticket.get_request_type_display``.

    Django's ``get_FOO_display`` rebuilds the choices dict and hashes every (lazy) label on each
    call, which a queue page does twice for each of its 25 rows."""
    value = getattr(obj, field_name)
    return force_str(_choice_labels(obj.__class__, field_name).get(value, value), strings_only=True)


@register.simple_tag
def state_badge(ticket: Any) -> str:
    return format_html('<span class="badge state-{}">{}</span>', ticket.state, display(ticket, "state"))


@register.simple_tag
def desk_roles(user: Any) -> dict[str, bool]:
    """``{% desk_roles user as roles %}``: roles.manager / roles.administrator for navigation."""
    return {"manager": is_manager(user), "administrator": is_administrator(user)}


@register.filter
def state_label(value: str) -> str:
    """A stored state value as the person reads it (audit events keep the raw value)."""
    return str(TicketState(value).label) if value in TicketState.values else (value or "—")


@register.filter
def method_label(value: str) -> str:
    return str(VerificationMethod(value).label) if value in VerificationMethod.values else value
