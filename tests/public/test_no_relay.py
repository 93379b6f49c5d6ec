"""Contact Us is no phishing relay (issue 25, point 11).

Anybody can type any address into the form. Until that address is confirmed (its one-time link
opened), nothing mailed to it — acknowledgement, confirmation link, guardian mail, a staff reply —
repeats the form's free text: not the name in a greeting, not the description in a subject.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from helpdesk import services
from helpdesk.models import Ticket
from tests.public.conftest import links_in, mails_to

pytestmark = pytest.mark.django_db

LURE_NAME = "Your account is locked - call +1 555 0100"
LURE_LINE = "URGENT: verify your bank login at https://evil.example/login"
LURE_GUARDIAN = "Bank security team"


def lure_free(messages: list[Any]) -> None:
    assert messages
    for message in messages:
        text = f"{message.subject}\n{message.body}"
        for lure in (LURE_NAME, LURE_LINE, "evil.example", LURE_GUARDIAN):
            assert lure not in text, (message.subject, lure)


def test_nothing_mailed_to_an_unconfirmed_address_repeats_the_forms_words(
        submit: Any, manager: Any, django_capture_on_commit_callbacks: Any) -> None:
    submit("/en/", name=LURE_NAME, email="victim@example.com", description=f"{LURE_LINE}\nmore text",
           request_type="inquiry", under_14="yes", guardian_name=LURE_GUARDIAN,
           guardian_email="victim.parent@example.com")
    lure_free(mails_to("victim@example.com"))  # the acknowledgement and the confirmation link
    lure_free(mails_to("victim.parent@example.com"))  # the guardian's confirmation
    assert mails_to("victim@example.com")[0].body.startswith("Dear requester")

    ticket = Ticket.objects.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(ticket=ticket, author=manager, body_text="We are looking into it.")
    lure_free(mails_to("victim@example.com"))  # a reply's subject too


def test_once_the_address_is_confirmed_the_name_and_subject_are_used(
        submit: Any, client: Client, manager: Any, django_capture_on_commit_callbacks: Any) -> None:
    submit("/en/", name="Kim Minji", email="minji@example.com", description="Please delete my data\nThanks")
    confirm = links_in(next(m for m in mails_to("minji@example.com") if "Confirm" in m.subject))["confirm"]
    assert client.post(confirm).status_code in (200, 302)
    ticket = Ticket.objects.get()
    assert ticket.address_confirmed()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(ticket=ticket, author=manager, body_text="Done.")
    [reply] = mails_to("minji@example.com")
    assert "Please delete my data" in reply.subject
