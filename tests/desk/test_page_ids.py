"""Issue 28, point 1: every form on the ticket page has its own ids — the internal note's label
reaches the note, never the reply to the requester. (The browser tests check every desk page live.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Ticket, User
from tests.support.pagecheck import duplicate_ids, labels_without_field

pytestmark = pytest.mark.django_db


def label_target(html: str, text: str) -> str:
    match = re.search(r'<label for="([^"]+)">' + re.escape(text), html)
    assert match, text
    return match.group(1)


@pytest.mark.parametrize("state", ["received", "verified", "processed"])
def test_ticket_page_has_unique_ids(state: str, make_ticket: Callable[..., Ticket], admin_user: User,
                                    manager: User, client_for: Callable[[User], Client],
                                    response_template: Any) -> None:
    ticket = make_ticket(request_type="complaint")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    if state in ("verified", "processed"):
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="email_link")
    if state == "processed":
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="answered")
    for user in (admin_user, manager):  # the manager's page also has the reassign form
        html = client_for(user).get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
        assert duplicate_ids(html) == []
        assert labels_without_field(html) == []
        note = label_target(html, "내부 메모")  # "Internal note (never mailed)"
        reply = label_target(html, "요청자에게 답장")  # "Reply to the requester"
        assert note != reply
        assert re.search(rf'<textarea name="body_text"[^>]*id="{note}"', html)
        assert html.count('id="id_version"') == 0


def test_rerendered_forms_keep_their_ids(make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
                                         client_for: Callable[[User], Client]) -> None:
    """A form sent back with an error (400) keeps unique ids too."""
    ticket = make_ticket(request_type="complaint")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    ticket.refresh_from_db()
    answer = client_for(admin_user).post(reverse("desk:note", args=[ticket.reference]),
                                         {"version": ticket.version, "body_text": ""})
    assert answer.status_code == 400
    assert duplicate_ids(answer.content.decode()) == []
