"""Timeline sentences for requests staff typed in and for notices given by hand, in words."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from helpdesk.desk.templatetags.desk import desk_time
from helpdesk.models import Channel, GivenBy, MessageKind

register = template.Library()


def _entered_sentence(channel: str, who: str) -> str:
    sentences: dict[str, str] = {
        Channel.PHONE: _("Phone request entered by %(who)s"),
        Channel.LETTER: _("Letter entered by %(who)s"),
        Channel.FAX: _("Fax entered by %(who)s"),
        Channel.VISIT: _("Request made in person, entered by %(who)s"),
        Channel.EMAIL: _("Mailed request entered by %(who)s"),
        Channel.STAFF: _("Request entered by %(who)s"),
    }
    return sentences.get(channel, _("Request entered by %(who)s")) % {"who": who}


@register.simple_tag
def opened_sentence(event: Any) -> str:
    """``ticket.created``: "Phone request entered by Park Moonwon", or "Ticket opened" for mail and form."""
    data = event.data or {}
    if "entered_by" not in data:
        return _("Ticket opened")
    sentence = _entered_sentence(data.get("channel", ""), data["entered_by"])
    received = parse_datetime(data.get("received_at") or "")
    if received is not None:
        sentence += " · " + _("received %(when)s") % {"when": desk_time(received)}
    return sentence


@register.simple_tag
def given_sentence(event: Any) -> str:
    """``notice.given``: how a notice reached a requester without an e-mail address."""
    data = event.data or {}
    method = data.get("method", "")
    how = str(GivenBy(method).label) if method in GivenBy.values else method
    when = parse_datetime(data.get("given_at") or "")
    return _("Notice given: %(how)s, %(when)s") % {"how": how, "when": desk_time(when) if when else "—"}


@register.simple_tag
def inbound_label(message: Any, ticket: Any) -> str:
    """An inbound message in words: "Phone request, taken down by Park Moonwon" for one typed in by staff."""
    if message.author_id is not None and message.kind == MessageKind.MAIL:
        channel = dict(Channel.choices).get(ticket.channel, ticket.channel)
        return _("%(channel)s request, taken down by %(who)s") % {"channel": channel, "who": message.author}
    return str(message.get_kind_display())


@register.simple_tag
def party_sentence(event: Any) -> str:
    """Representation and participant events in words (issue 26); other actions as they are stored."""
    data = event.data or {}
    sentences = {
        "representation.recorded": _("Request made on behalf of %(name)s") % {"name": data.get("subject_name", "—")},
        "representation.checked": _("Representative's authority and the data subject's identity checked"),
        "participant.added": _("%(email)s receives the answers from now on") % {"email": data.get("email", "—")},
        "participant.removed": _("%(email)s no longer receives the answers") % {"email": data.get("email", "—")},
    }
    return sentences.get(event.action, event.action)
