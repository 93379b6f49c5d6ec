"""Issue 28, point 3: the ticket page offers the next steps in the order the work goes — what the
ticket needs next first, what cannot run yet with the reason, and nothing already done again."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from helpdesk import services
from helpdesk.models import Ticket, User
from tests.fulfilment.conftest import crm_toml

pytestmark = pytest.mark.django_db


def steps_section(client: Client, ticket: Ticket) -> str:
    with translation.override("en"):
        page = client.get(reverse("desk:ticket", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    match = re.search(r'<ol class="action-list">(.*?)</ol>', page, re.S)
    assert match, "no next steps"
    return match.group(1)


def items(section: str) -> list[str]:
    """Each step as the person reads it (a form's summary, or the line), in page order."""
    out = []
    for li in re.findall(r"<li\b.*?</li>", section, re.S):
        summary = re.search(r"<summary>(.*?)</summary>", li, re.S)
        text = re.sub(r"<[^>]+>", " ", summary.group(1) if summary else li)
        out.append(html.unescape(re.sub(r"\s+", " ", text)).strip())
    return out


def test_verified_access_ticket_points_at_the_lookup_first(verified_ticket: Callable[..., Ticket], admin_user: User,
                                                           use_sources: Callable[[str], Path], crm_db: Path,
                                                           client_for: Callable[[User], Client]) -> None:
    use_sources(crm_toml(crm_db))
    ticket = verified_ticket("access")
    section = steps_section(client_for(admin_user), ticket)
    listed = items(section)
    assert listed[0] == "Next Find the requester's personal data"
    # "Mark processed" is not a form that fails: it says why it cannot run yet, and comes last.
    assert listed[-1].startswith("Mark processed — not yet: Release the access package to the requester first")
    assert 'data-action="process"' not in section
    assert "Verify identity" not in section  # done already


def test_after_asking_the_requester_verify_is_not_offered_again(verified_ticket: Callable[..., Ticket],
                                                                admin_user: User,
                                                                client_for: Callable[[User], Client]) -> None:
    ticket = verified_ticket("complaint")
    services.transition_ticket(ticket=ticket, name="request_info", actor=admin_user, question="Which order?")
    ticket.refresh_from_db()
    client = client_for(admin_user)
    section = steps_section(client, ticket)
    assert "Verify identity" not in section
    assert 'data-action="resume"' in section
    with translation.override("en"):
        page = client.get(reverse("desk:ticket", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Their identity is already verified" in page


def test_asking_before_verification_still_offers_verify(make_ticket: Callable[..., Ticket], admin_user: User,
                                                        manager: User, client_for: Callable[[User], Client]) -> None:
    ticket = make_ticket(request_type="complaint")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    services.transition_ticket(ticket=ticket, name="request_info", actor=admin_user, question="Send your ID")
    ticket.refresh_from_db()
    assert items(steps_section(client_for(admin_user), ticket))[0] == "Next Verify identity"


def test_processed_ticket_respond_says_why_until_the_answer_is_sent(make_ticket: Callable[..., Ticket],
                                                                    admin_user: User, manager: User,
                                                                    client_for: Callable[[User], Client],
                                                                    django_capture_on_commit_callbacks: Any) -> None:
    ticket = make_ticket(request_type="complaint")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="email_link")
    services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="looked into it")
    ticket.refresh_from_db()
    client = client_for(admin_user)
    listed = items(steps_section(client, ticket))
    assert "Mark responded — not yet: Send the answer to the requester before marking the ticket responded." in listed
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(ticket=ticket, author=admin_user, body_text="Here is our answer.")
    ticket.refresh_from_db()
    listed = items(steps_section(client, ticket))
    assert listed[0] == "Next Mark responded"


def test_received_ticket_verification_comes_first(make_ticket: Callable[..., Ticket], admin_user: User,
                                                  manager: User, client_for: Callable[[User], Client]) -> None:
    ticket = make_ticket(request_type="complaint")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    listed = items(steps_section(client_for(admin_user), ticket))
    assert listed[0] == "Next Verify identity"
    assert [t.replace("Next ", "") for t in listed] == ["Verify identity", "Ask the requester", "Reject", "Withdraw"]
