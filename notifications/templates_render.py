"""Filling a :class:`~notifications.models.ResponseTemplate` in for one ticket.

Placeholders are ``{name}``, ``{reference}``, ``{due_date}`` and ``{subject}``. Anything else in
braces is left as written, so a template with a stray ``{`` never fails to render.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from notifications.models import ResponseTemplate

PLACEHOLDERS = ("name", "reference", "due_date", "subject")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
LANGUAGES = ("ko", "en")


def placeholder_values(ticket: Any, language: str = "ko") -> dict[str, str]:
    requester = ticket.requester
    fallback = "고객" if language == "ko" else "customer"
    return {
        "name": requester.name or requester.email or fallback,
        "reference": ticket.reference,
        "due_date": timezone.localtime(ticket.due_at).strftime("%Y-%m-%d"),
        "subject": ticket.subject,
    }


def render_text(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def render_response_template(template: ResponseTemplate, ticket: Any, language: str = "ko") -> str:
    """The template's text in ``language`` (ko or en) with the ticket's values filled in."""
    body = template.body_en if language == "en" else template.body_ko
    return render_text(body, placeholder_values(ticket, language))


def templates_for(ticket: Any) -> list[ResponseTemplate]:
    """Active templates for the ticket's request type, plus the general ones (no type)."""
    return list(
        ResponseTemplate.objects.filter(is_active=True, request_type__in=["", ticket.request_type]).order_by("name")
    )


def rendered_choices(ticket: Any) -> list[dict[str, str]]:
    """Each template in both languages, rendered: what the reply composer offers."""
    choices = []
    for template in templates_for(ticket):
        for language in LANGUAGES:
            choices.append({
                "key": f"{template.pk}:{language}",
                "label": f"{template.name} ({'한국어' if language == 'ko' else 'English'})",
                "body": render_response_template(template, ticket, language),
            })
    return choices
