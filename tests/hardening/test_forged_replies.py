"""Forged replies do not get into someone else's ticket (issue 25, point 6), through the real
``ingest_email`` command and the requester's status page.

An attacker who knows a ticket's reference or a Message-ID of its conversation, and perhaps the
requester's or an administrator's address, must not write into it: the party check applies on every
threading path, internal notes make nobody a party, and a reply the receiving MTA did not
authenticate (its Authentication-Results, from our authserv-id only) is quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Direction, Quarantine, Ticket, User
from helpdesk.public import tokens

pytestmark = pytest.mark.django_db

MTA = "mx.micube.co.kr"
Ingest = Callable[..., list[dict[str, Any]]]


def mail(sender: str, *, subject: str = "Re: my request", message_id: str, in_reply_to: str = "",
         auth: str = "", body: str = "Please send the copy to attacker@evil.example instead.") -> bytes:
    head = f"Authentication-Results: {MTA}; {auth}\nReceived: from a.example by {MTA}; " \
           "Thu, 08 Jan 2026 09:00:01 +0900\n" if auth else ""
    thread = f"In-Reply-To: <{in_reply_to}>\nReferences: <{in_reply_to}>\n" if in_reply_to else ""
    return (f"{head}From: {sender}\nTo: micube@micube.co.kr\nSubject: {subject}\nMessage-ID: <{message_id}>\n"
            f"{thread}Date: Thu, 08 Jan 2026 09:00:00 +0900\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{body}\n").encode()


@pytest.fixture
def victim(make_ticket: Callable[..., Ticket], admin_user: User) -> Ticket:
    ticket = make_ticket(email="victim@example.com", channel="email", subject="My data, please")
    # Staff write an internal note: before the fix it made the staff address a "party" to the ticket.
    services.add_note(ticket=ticket, author=admin_user, body_text="Called the requester.")
    ticket.refresh_from_db()
    return ticket


def on_ticket(ticket: Ticket, text: str) -> bool:
    return ticket.messages.filter(direction=Direction.INBOUND, body_text__contains=text).exists()


def status_page(ticket: Ticket) -> str:
    return Client().get(reverse("public:status", kwargs={"token": tokens.status_token(ticket)})).content.decode()


def test_a_forged_staff_address_with_the_reference_opens_its_own_ticket(victim: Ticket, admin_user: User,
                                                                        ingest: Ingest) -> None:
    [line] = ingest(mail(admin_user.email, subject=f"Re: [{victim.reference}] update", message_id="f1@evil.example",
                         body="Staff here: send everything to attacker@evil.example"))
    assert line["outcome"] == "new_ticket" and line["ticket"] != victim.reference
    assert not on_ticket(victim, "attacker@evil.example")


def test_a_stranger_answering_the_conversations_message_id_opens_its_own_ticket(victim: Ticket,
                                                                                ingest: Ingest) -> None:
    ours = victim.messages.filter(direction=Direction.OUTBOUND).exclude(message_id="").first()
    assert ours is not None  # the acknowledgement
    [line] = ingest(mail("stranger@evil.example", message_id="f2@evil.example", in_reply_to=ours.message_id))
    assert line["outcome"] == "new_ticket" and line["ticket"] != victim.reference
    assert not on_ticket(victim, "attacker@evil.example")
    assert "attacker@evil.example" not in status_page(victim)


def test_a_reply_failing_dmarc_at_our_mta_is_quarantined_and_a_passing_one_is_filed(victim: Ticket, ingest: Ingest,
                                                                                   settings: Any) -> None:
    settings.DESK_TRUSTED_AUTHSERV_ID = MTA
    forged = mail("victim@example.com", subject=f"Re: [{victim.reference}]", message_id="f3@evil.example",
                  auth="spf=pass smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=example.com")
    # A field lower down, in the sender's own header block, claiming our authserv-id, counts for nothing.
    smuggled = mail("victim@example.com", subject=f"Re: [{victim.reference}]", message_id="f4@evil.example",
                    body="X").replace(b"Subject:", f"Authentication-Results: {MTA}; dmarc=pass\nSubject:".encode())
    genuine = mail("victim@example.com", subject=f"Re: [{victim.reference}]", message_id="ok@example.com",
                   auth="dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com; dmarc=pass "
                        "header.from=example.com", body="Thank you, here is my ID.")
    lines = ingest(forged, smuggled, genuine)
    assert [line["outcome"] for line in lines] == ["quarantined", "quarantined", "follow_up"]
    assert [line["reason"] for line in lines[:2]] == ["unauthenticated_reply"] * 2
    assert Quarantine.objects.filter(reason="unauthenticated_reply", sender__contains="victim@example.com").count() == 2
    assert not on_ticket(victim, "attacker@evil.example") and on_ticket(victim, "here is my ID")
    page = status_page(victim)
    assert "attacker@evil.example" not in page and "here is my ID" in page
