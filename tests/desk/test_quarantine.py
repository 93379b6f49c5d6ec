"""Quarantine review: the raw mail shown safely as text, then converted, attached or discarded."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from helpdesk.models import AuditEvent, Quarantine, QuarantineStatus, Ticket

pytestmark = pytest.mark.django_db


def test_raw_message_is_shown_escaped_and_bounded(make_quarantine: Any, admin_user: Any, client_for: Any) -> None:
    item = make_quarantine(raw=b"Subject: x\r\n\r\n<script>alert(1)</script>\xff\xfe" + b"A" * 70_000)
    page = client_for(admin_user).get(reverse("desk:quarantine_detail", kwargs={"pk": item.pk}))
    body = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "\ufffd" in body  # undecodable bytes replaced, not an error
    assert page.context["truncated"] and len(page.context["preview"]) <= 64 * 1024
    listing = client_for(admin_user).get(reverse("desk:quarantine"))
    assert listing.status_code == 200 and b"unparseable" in listing.content


def test_convert_to_ticket(make_quarantine: Any, admin_user: Any, client_for: Any) -> None:
    item = make_quarantine()
    r = client_for(admin_user).post(reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "convert"}),
                                    {"request_type": "deletion", "sender_email": "", "sender_name": ""})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == QuarantineStatus.CONVERTED and item.resolved_by == admin_user
    ticket = Ticket.objects.get(pk=item.ticket_id)
    assert ticket.request_type == "deletion" and ticket.requester.email == "stranger@example.com"
    assert ticket.messages.get(direction="inbound").raw_message  # the evidence travels with it
    assert AuditEvent.objects.filter(action="quarantine.converted", data__quarantine=item.pk).exists()
    # A second review of the same item is a conflict, not a second ticket.
    again = client_for(admin_user).post(reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "convert"}),
                                        {"request_type": "deletion"})
    assert again.status_code == 409 and Ticket.objects.count() == 1


def test_convert_needs_an_address_when_the_mail_has_none(make_quarantine: Any, admin_user: Any,
                                                         client_for: Any) -> None:
    item = make_quarantine(raw=b"\x00\x01 garbage", sender="")
    url = reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "convert"})
    r = client_for(admin_user).post(url, {"request_type": "other"})
    assert r.status_code == 400 and Ticket.objects.count() == 0
    r = client_for(admin_user).post(url, {"request_type": "other", "sender_email": "who@example.com"})
    assert r.status_code == 302 and Ticket.objects.get().requester.email == "who@example.com"


def test_attach_to_existing_ticket(make_quarantine: Any, make_ticket: Any, admin_user: Any, make_admin: Any,
                                   client_for: Any) -> None:
    ticket = make_ticket()
    item = make_quarantine()
    url = reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "attach"})
    outsider = client_for(make_admin("outsider"))
    assert outsider.post(url, {"reference": ticket.reference}).status_code == 400  # not a ticket they can see
    r = client_for(admin_user).post(url, {"reference": ticket.reference.lower()})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == QuarantineStatus.ATTACHED and item.ticket_id == ticket.pk
    assert ticket.messages.count() >= 2


def test_discard_keeps_the_raw_message(make_quarantine: Any, admin_user: Any, client_for: Any) -> None:
    item = make_quarantine()
    r = client_for(admin_user).post(reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "discard"}),
                                    {"reason": "spam"})
    assert r.status_code == 302
    item = Quarantine.objects.get(pk=item.pk)
    assert item.status == QuarantineStatus.DISCARDED and item.raw_message.storage.exists(item.raw_message.name)
    event = AuditEvent.objects.get(action="quarantine.discarded")
    assert event.data == {"quarantine": item.pk, "reason": "spam"} and event.actor == admin_user


def test_quarantine_needs_desk_staff(make_quarantine: Any, client: Any) -> None:
    item = make_quarantine()
    r = client.post(reverse("desk:quarantine_action", kwargs={"pk": item.pk, "action": "discard"}))
    assert r.status_code == 302 and Quarantine.objects.get().status == QuarantineStatus.PENDING
