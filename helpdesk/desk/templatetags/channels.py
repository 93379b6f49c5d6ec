"""Inbound messages staff typed in (phone, letter, fax, visit), in words."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from helpdesk.models import Channel, MessageKind

register = template.Library()


@register.simple_tag
def inbound_label(message: Any, ticket: Any) -> str:
    """An inbound message in words: "Phone request, taken down by Park Moonwon" for one typed in by staff."""
    if message.author_id is not None and message.kind == MessageKind.MAIL:
        channel = dict(Channel.choices).get(ticket.channel, ticket.channel)
        return _("%(channel)s request, taken down by %(who)s") % {"channel": channel, "who": message.author}
    return str(message.get_kind_display())
