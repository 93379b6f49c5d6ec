"""Signed links: e-mail and guardian confirmation, the status page, withdrawal, lost links, reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from helpdesk import services
from helpdesk.models import AuditEvent, Direction, MessageKind, RequesterToken, Ticket
from helpdesk.public import tokens
from helpdesk.public.services import send_verification_reminders
from notifications.models import SentNotification
from tests.public.conftest import links_in, mails_to

pytestmark = pytest.mark.django_db


def submitted_links(submit: Any, email: str = "minji@example.com", path: str = "/en/", **fields: Any
                    ) -> tuple[Ticket, dict[str, str]]:
    assert submit(path, email=email, **fields).status_code == 302
    ticket = Ticket.objects.filter(requester__email=email).latest("id")
    verification = next(m for m in mails_to(email) if "Confirm your e-mail" in m.subject)
    return ticket, links_in(verification)


# --- E-mail confirmation -----------------------------------------------------------------------
def test_confirming_verifies_when_email_proof_suffices(client: Client, submit: Any, admin_user: Any) -> None:
    ticket, links = submitted_links(submit, request_type="deletion")
    page = client.get(links["confirm"])  # a GET (mail scanners prefetch) changes nothing
    assert page.status_code == 200 and "Confirm my e-mail address" in page.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).state == "received"
    done = client.post(links["confirm"])
    assert done.status_code == 200
    assert "Your e-mail address is confirmed" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == "verified"
    assert ticket.verification_method == "email_link"
    assert ticket.web_details.email_verified_at is not None
    event = AuditEvent.objects.get(ticket=ticket, action="transition.verify")
    assert event.actor_label == "requester <minji@example.com>"
    assert AuditEvent.objects.filter(ticket=ticket, action="requester.email_confirmed").exists()


def test_link_is_single_use(client: Client, submit: Any) -> None:
    _ticket, links = submitted_links(submit)
    assert client.post(links["confirm"]).status_code == 200
    # Opened again (issue 28): the truth — already confirmed — not "this link no longer works".
    again = client.post(links["confirm"])
    assert again.status_code == 200
    assert "Already confirmed" in again.content.decode() and "does not work" not in again.content.decode()
    assert client.get(links["confirm"]).status_code == 200
    assert AuditEvent.objects.filter(action="requester.email_confirmed").count() == 1  # once, not twice


def test_a_forged_or_expired_link_still_does_not_work(client: Client, submit: Any) -> None:
    _ticket, links = submitted_links(submit)
    forged = links["confirm"][:-3] + "xyz/"
    assert client.get(forged).status_code == 404


def test_link_expires(client: Client, submit: Any) -> None:
    ticket, links = submitted_links(submit)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.post(links["confirm"]).status_code == 404
    ticket.refresh_from_db()
    assert ticket.state == "received"


def test_forged_and_tampered_links_are_refused(client: Client, submit: Any) -> None:
    ticket, links = submitted_links(submit)
    token = links["confirm"].split("/")[-2]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/en/confirm/{tampered}/").status_code == 404
    # A payload signed with another key, naming the real ticket.
    forged = signing.dumps({"r": ticket.reference, "p": "verify", "k": "x", "n": "y"}, salt=tokens.SALT,
                           key="not-our-secret-key-0123456789abcdef0123456789")
    assert client.post(f"/en/confirm/{forged}/").status_code == 404
    assert client.get("/en/confirm/garbage/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.state == "received"


def test_a_link_only_does_what_it_was_made_for(client: Client, submit: Any) -> None:
    _ticket, links = submitted_links(submit)
    status_token = links["request"].split("/")[-2]
    confirm_token = links["confirm"].split("/")[-2]
    assert client.post(f"/en/confirm/{status_token}/").status_code == 404  # status link cannot confirm
    assert client.get(f"/en/request/{confirm_token}/").status_code == 404  # confirm link shows nothing
    assert client.post(f"/en/guardian/{confirm_token}/").status_code == 404


def test_rotating_the_access_key_revokes_links(client: Client, submit: Any) -> None:
    ticket, links = submitted_links(submit)
    Ticket.objects.filter(pk=ticket.pk).update(access_key="rotated-key")
    assert client.get(links["request"]).status_code == 404
    assert client.post(links["confirm"]).status_code == 404


def test_access_request_needs_more_than_email(client: Client, submit: Any, admin_user: Any,
                                              django_capture_on_commit_callbacks: Any) -> None:
    ticket, links = submitted_links(submit, request_type="access")
    done = client.post(links["confirm"])
    assert "check your identity more closely" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == "received" and ticket.web_details.email_verified_at is not None
    # The administrator asks for proof: the clock pauses, the requester uploads it on the status page.
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="request_info", actor=admin_user,
                                   question="Please attach a copy of an identity document.")
    ticket.refresh_from_db()
    assert ticket.state == "awaiting_requester"
    page = client.get(links["request"])
    assert "Please attach a copy of an identity document." in page.content.decode()
    assert "The deadline is paused until you answer." in page.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    proof = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(links["request"], {"body": "Here is my ID.", "attachments": [proof]})
    assert sent.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "received"  # resumed: the clock runs again
    assert ticket.paused_at is None
    inbound = ticket.messages.filter(direction=Direction.INBOUND).latest("id")
    assert inbound.body_text == "Here is my ID." and inbound.attachments.get().content_type == "application/pdf"
    assert AuditEvent.objects.filter(ticket=ticket, action="transition.resume").exists()


# --- Guardian consent --------------------------------------------------------------------------
def test_under_14_waits_for_the_guardian(client: Client, submit: Any, admin_user: Any) -> None:
    ticket, links = submitted_links(submit, under_14="yes", guardian_name="Kim Parent",
                                    guardian_email="parent@example.com", request_type="deletion")
    done = client.post(links["confirm"])
    assert "waiting for your legal guardian" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == "received"
    # Nobody can verify the ticket before the guardian confirms, staff included.
    with pytest.raises(services.GuardError) as refused:
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="id_document")
    assert "guardian" in refused.value.errors
    guardian_link = links_in(mails_to("parent@example.com")[0])["guardian"]
    assert "Guardian" in client.get(guardian_link).content.decode()
    assert client.post(guardian_link).status_code == 200
    ticket.refresh_from_db()
    assert ticket.state == "verified"
    assert ticket.verification_method == "guardian_consent"
    assert "Kim Parent" in ticket.verification_note
    event = AuditEvent.objects.get(ticket=ticket, action="requester.guardian_confirmed")
    assert event.actor_label == "guardian <parent@example.com>"
    again = client.post(guardian_link)  # single use: opened again it says so, and changes nothing
    assert again.status_code == 200 and "Already confirmed" in again.content.decode()


# --- Status page -------------------------------------------------------------------------------
def test_status_page_shows_state_deadline_and_public_messages_only(client: Client, submit: Any,
                                                                   admin_user: Any) -> None:
    ticket, links = submitted_links(submit)
    services.add_note(ticket=ticket, author=admin_user, body_text="INTERNAL: requester sounds angry")
    services.send_reply(ticket=ticket, author=admin_user, body_text="We are looking into it.")
    page = client.get(links["request"])
    text = page.content.decode()
    assert page.status_code == 200
    assert ticket.reference in text
    assert "We are looking into it." in text
    assert "INTERNAL" not in text  # internal notes are never shown
    assert "days left" in text
    assert timezone.localtime(ticket.due_at).strftime("%Y") in text
    assert "Withdraw my request" in text


def test_korean_status_page(client: Client, submit: Any, public_locale_dir: Any) -> None:
    _ticket, links = submitted_links(submit, path="/")
    assert links["request"].startswith("/request/")
    text = client.get(links["request"]).content.decode()
    assert '<html lang="ko">' in text and "처리 기한" in text


def test_another_tickets_link_and_guessed_references_reveal_nothing(client: Client, submit: Any) -> None:
    mine, my_links = submitted_links(submit, email="me@example.com")
    theirs, _their_links = submitted_links(submit, email="them@example.com")
    page = client.get(my_links["request"]).content.decode()
    assert mine.reference in page and theirs.reference not in page
    for guess in (theirs.reference, str(theirs.pk), "PRIV-2026-0001", f"{mine.reference}:x"):
        path = f"/en/request/{guess}/"
        response = client.get(path)
        assert response.status_code == 404
        # The page names nothing but the address that was typed (echoed for the language switch).
        assert theirs.reference not in response.content.decode().replace(path, "")


def test_message_from_status_page_goes_through_the_service(client: Client, submit: Any,
                                                           django_capture_on_commit_callbacks: Any) -> None:
    ticket, links = submitted_links(submit)
    empty = client.post(links["request"], {"body": "  "})
    assert empty.status_code == 400 and "Write a message or attach a file." in empty.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(links["request"], {"body": "One more detail."})
    assert response.status_code == 302
    assert ticket.messages.filter(direction=Direction.INBOUND, body_text="One more detail.").exists()
    assert AuditEvent.objects.filter(ticket=ticket, action="message.received").exists()
    assert "One more detail." in client.get(links["request"]).content.decode()


def test_withdrawal_needs_confirmation_and_is_audited(client: Client, submit: Any,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    ticket, links = submitted_links(submit)
    withdraw_url = links["request"] + "withdraw/"
    unconfirmed = client.post(withdraw_url, {"reason": "Solved"})
    assert unconfirmed.status_code == 400
    assert Ticket.objects.get(pk=ticket.pk).state == "received"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(withdraw_url, {"reason": "Solved by phone", "confirm": "on"})
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "withdrawn" and ticket.closed_at is not None
    event = AuditEvent.objects.get(ticket=ticket, action="transition.withdraw")
    assert event.actor_label == "requester <minji@example.com>"
    assert event.data["reason"] == "Solved by phone"
    assert ticket.messages.filter(kind=MessageKind.NOTICE).exists()  # the withdrawal notice
    page = client.get(links["request"]).content.decode()
    assert "You withdrew this request." in page and 'name="body"' not in page
    assert client.get(withdraw_url).status_code == 302  # nothing left to withdraw


def test_status_link_expires(client: Client, submit: Any, settings: Any) -> None:
    _ticket, links = submitted_links(submit)
    with time_machine.travel(timezone.now() + timedelta(days=settings.DESK_STATUS_LINK_MAX_AGE_DAYS + 1)):
        response = client.get(links["request"])
    assert response.status_code == 404
    assert "Get a new link" in response.content.decode()


# --- Lost links --------------------------------------------------------------------------------
def test_lost_link_answers_the_same_whether_or_not_a_ticket_exists(client: Client, submit: Any,
                                                                    django_capture_on_commit_callbacks: Any) -> None:
    ticket, _links = submitted_links(submit)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/en/lost-link/", {"email": "MINJI@example.com"})
        unknown = client.post("/en/lost-link/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200

    def strip(html: str, address: str) -> str:
        return html.replace(address, "ADDRESS").replace(address.lower(), "ADDRESS")

    import re

    def normalise(response: Any, address: str) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", strip(response.content.decode(), address))

    assert normalise(known, "MINJI@example.com") == normalise(unknown, "nobody@example.com")
    assert [m.to for m in mail.outbox] == [["minji@example.com"]]
    resent = links_in(mail.outbox[0])
    assert client.get(resent["request"]).status_code == 200
    # The address was never confirmed: the mail carries a fresh one-time confirmation link too.
    assert client.post(resent["confirm"]).status_code == 200
    ticket.refresh_from_db()
    assert ticket.state == "verified"
    assert ticket.reference in mail.outbox[0].body


def test_lost_link_rate_limits(client: Client, submit: Any, settings: Any,
                               django_capture_on_commit_callbacks: Any) -> None:
    submitted_links(submit)
    mail.outbox.clear()
    settings.DESK_RATE_RESEND_EMAIL = "1/h"
    settings.DESK_RATE_RESEND_IP = "3/h"
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # the second is over the per-address rate: same page, no mail
            assert client.post("/en/lost-link/", {"email": "minji@example.com"}).status_code == 200
        assert client.post("/en/lost-link/", {"email": "x@example.com"}).status_code == 200
        refused = client.post("/en/lost-link/", {"email": "minji@example.com"})
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    assert len(mail.outbox) == 1


# --- Reminder ----------------------------------------------------------------------------------
def test_verification_reminder_after_two_days_once(client: Client, submit: Any,
                                                    django_capture_on_commit_callbacks: Any) -> None:
    ticket, first_links = submitted_links(submit)
    confirmed, _ = submitted_links(submit, email="done@example.com")
    client.post(links_in(next(m for m in mails_to("done@example.com") if "Confirm" in m.subject))["confirm"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_verification_reminders() == 0  # too early
    later = timezone.now() + timedelta(days=2, hours=1)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert send_verification_reminders() == 1
        assert send_verification_reminders() == 0  # once only
    assert [m.to for m in mail.outbox] == [["minji@example.com"]]
    assert "Reminder" in mail.outbox[0].subject
    row = SentNotification.objects.get(ticket=ticket, kind="verification_reminder")
    assert row.sent_at is not None
    assert RequesterToken.objects.filter(ticket=ticket, purpose="verify").count() == 2
    # The reminder's link works (and so would the first one, until used).
    with time_machine.travel(later):
        assert client.post(links_in(mail.outbox[0])["confirm"]).status_code == 200
    ticket.refresh_from_db()
    assert ticket.state == "verified"
    assert first_links["confirm"] != links_in(mail.outbox[0])["confirm"]
    assert not SentNotification.objects.filter(ticket=confirmed).exists()


def test_reminder_task_is_importable_by_beat(settings: Any) -> None:
    from helpdesk.public.tasks import send_verification_reminders as task

    entry = settings.CELERY_BEAT_SCHEDULE["requester-verification-reminders"]
    assert entry["task"] == task.name
    assert task.delay().get() == 0
