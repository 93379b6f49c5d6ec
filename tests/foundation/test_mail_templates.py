"""Mail bodies render through their own template engine (notifications.mail.mail_templates) exactly
as the pages' engine renders them: same folders, same filters, same languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import Context
from django.template.loader import render_to_string
from django.utils import timezone, translation

from notifications.mail import mail_templates

TEMPLATES = sorted(p.name for p in (Path(settings.BASE_DIR) / "templates" / "notifications" / "email").glob("*.txt"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", TEMPLATES)
def test_each_mail_template_renders_as_the_pages_engine_renders_it(name: str, make_ticket: Any) -> None:
    ticket = make_ticket()
    context = {"ticket": ticket, "requester": ticket.requester, "due_at": timezone.localtime(ticket.due_at),
               "desk_email": settings.DESK_EMAIL, "base_url": "https://desk.example.com", "request_type": "열람",
               "explanation": "<b>사유</b> & reason", "reason": "manifestly unfounded", "link": "https://x/y?a=1&b=2",
               "tickets": [ticket], "count": 3, "days": 10, "expires_at": timezone.now(),
               "reference": ticket.reference, "requester_name": ticket.requester.name}
    language = name.rsplit(".", 2)[1]
    with translation.override(language):
        ours = mail_templates().get_template(f"notifications/email/{name}").render(Context(context))
        pages = render_to_string(f"notifications/email/{name}", context)
    assert ours.strip() and ours == pages
