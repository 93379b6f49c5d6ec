"""Issue 28, point 5: the queue shows what is urgent — received, days left (paused shown as paused),
last activity, the requester's unread replies, a sort by days left — and an administrator covering
for an away colleague sees and takes their tickets."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from helpdesk import services
from helpdesk.models import Ticket, User

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def rows(client: Client, query: str = "") -> dict[str, str]:
    """reference → the row's text, from the "All" queue in English."""
    with translation.override("en"):
        html = client.get(reverse("desk:queue_named", kwargs={"slug": "all"}) + query).content.decode()
    found = {}
    for row in re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        found[text.split(" ")[0]] = text
    return found


def row_class(client: Client, ticket: Ticket) -> str:
    html = client.get(reverse("desk:queue_named", kwargs={"slug": "all"})).content.decode()
    # The row may begin with the bulk actions' checkbox (issue 31.2) before the reference.
    match = re.search(r'<tr class="([^"]*)">\s*(?:<td><input [^>]*></td>\s*)?<td><a href="[^"]*' + ticket.reference,
                      html)
    assert match
    return match.group(1)


def test_queue_columns_show_urgency(make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
                                    client_for: Callable[[User], Client],
                                    django_capture_on_commit_callbacks: Any) -> None:
    soon = make_ticket(subject="soon", request_type="complaint")
    paused = make_ticket(subject="paused", email="p@example.com", request_type="complaint")
    Ticket.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(days=2))
    services.transition_ticket(ticket=paused, name="request_info", actor=admin_user, question="Which account?")
    client = client_for(admin_user)
    client.get(reverse("desk:ticket", args=[soon.reference]))  # read once
    with django_capture_on_commit_callbacks(execute=True):
        services.add_inbound_message(ticket=soon, message=services.InboundMessage(
            sender_email=soon.requester.email, subject="Re: soon", body_text="One more thing"))
    listed = rows(client)
    assert "2 days left" in listed[soon.reference] and "1 new" in listed[soon.reference]
    assert "paused" in listed[paused.reference] and "days left" not in listed[paused.reference]
    assert row_class(client, paused) == "due-paused"  # not shown as fine (green)
    with translation.override("en"):
        head = client.get(reverse("desk:queue_named", kwargs={"slug": "all"})).content.decode()
    for column in ("Received", "Days left", "Last activity", "New replies"):
        assert f">{column} " in head or f">{column}<" in head, column
    services.add_note(ticket=soon, author=admin_user, body_text="Seen, will answer tomorrow")  # staff wrote
    assert not rows(client)[soon.reference].endswith(" new")


def test_sort_by_days_left(make_ticket: Callable[..., Ticket], manager: User,
                           client_for: Callable[[User], Client]) -> None:
    late = make_ticket(subject="late", request_type="complaint")
    early = make_ticket(subject="early", email="e@example.com", request_type="complaint")
    Ticket.objects.filter(pk=late.pk).update(due_at=timezone.now() + timedelta(days=8))
    Ticket.objects.filter(pk=early.pk).update(due_at=timezone.now() + timedelta(days=1))
    client = client_for(manager)
    assert list(rows(client, "?sort=due")) == [early.reference, late.reference]
    assert list(rows(client, "?sort=-due")) == [late.reference, early.reference]


def test_an_administrator_covers_an_away_colleague(make_ticket: Callable[..., Ticket], admin_user: User,
                                                   make_admin: Callable[..., User],
                                                   client_for: Callable[[User], Client], settings: Any) -> None:
    colleague = make_admin("hyojoon.shim")
    services.set_away(user=admin_user, away=True, actor=admin_user)
    theirs = make_ticket(subject="theirs", request_type="complaint")
    assert theirs.assignee == colleague
    services.set_away(user=admin_user, away=False, actor=admin_user)
    services.set_away(user=colleague, away=True, actor=colleague)
    client = client_for(admin_user)
    assert theirs.reference in rows(client)
    page = client.get(reverse("desk:ticket", args=[theirs.reference]))
    assert page.status_code == 200 and page.context["can_take"]
    theirs.refresh_from_db()
    assert client.post(reverse("desk:take", args=[theirs.reference]), {"version": theirs.version}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.assignee == admin_user

    # Switched off, a colleague's tickets stay theirs (and hidden), away or not.
    settings.DESK_COVER_AWAY_COLLEAGUES = False
    other = make_admin("third.admin")
    services.set_away(user=admin_user, away=True, actor=admin_user)
    hidden = make_ticket(subject="hidden", email="h@example.com", request_type="complaint")
    services.set_away(user=admin_user, away=False, actor=admin_user)
    services.set_away(user=other, away=True, actor=other)
    assert hidden.assignee in (colleague, other)
    assert hidden.reference not in rows(client_for(User.objects.get(pk=admin_user.pk)))


def test_korean_request_type_never_breaks_inside_a_word() -> None:
    css = (ROOT / "static" / "desk" / "desk.css").read_text(encoding="utf-8")
    assert re.search(r"html:lang\(ko\) body \{[^}]*word-break: keep-all", css)
