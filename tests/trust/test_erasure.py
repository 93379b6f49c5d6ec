"""Erasure on request: preview, then erase what the law does not require us to keep."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from helpdesk import services
from helpdesk.models import Attachment, AuditEvent, Quarantine, Requester, Ticket
from helpdesk.trust import erasure
from tests.trust.conftest import is_stored, stored_files

pytestmark = pytest.mark.django_db

EMAIL = "hong@example.com"


@pytest.fixture
def history(file_ticket: Any, close_ticket: Any, manager: Any) -> dict[str, Ticket]:
    """A requester with an old inquiry, a complaint, a held ticket, an open one and the deletion request."""
    start = timezone.now() - timedelta(days=30)
    with time_machine.travel(start, tick=False):
        tickets = {
            "inquiry": close_ticket(file_ticket(email=EMAIL, subject="문의", request_type="inquiry"), manager),
            "complaint": close_ticket(file_ticket(email=EMAIL, subject="불만", request_type="complaint"), manager),
            "held": close_ticket(file_ticket(email=EMAIL, subject="보류", request_type="inquiry"), manager),
            "open": file_ticket(email=EMAIL, subject="열람", request_type="access"),
        }
    Ticket.objects.filter(pk=tickets["held"].pk).update(legal_hold=True)
    tickets["request"] = file_ticket(email=EMAIL, subject="삭제 요청", request_type="deletion")
    tickets["other"] = close_ticket(file_ticket(email="other@example.com", subject="남의 것", request_type="inquiry"),
                                    manager)
    Quarantine.objects.create(reason="loop", sender=EMAIL, dedupe_key="qq", received_at=timezone.now())
    for ticket in tickets.values():
        ticket.refresh_from_db()
    return tickets


def test_preview_changes_nothing_and_explains(history: dict[str, Ticket], manager: Any) -> None:
    plan = erasure.preview_desk_erasure(ticket=history["request"], actor=manager)
    decisions = {t.reference: t.decision for t in plan.tickets}
    assert decisions == {
        history["inquiry"].reference: "erase",
        history["complaint"].reference: "minimise",
        history["held"].reference: "keep",
        history["open"].reference: "keep",
        history["request"].reference: "keep",
    }
    assert history["other"].reference not in decisions
    assert plan.quarantine == 1 and plan.requester == "redact"
    assert Ticket.objects.count() == 6 and Quarantine.objects.count() == 1


def test_erase_removes_what_the_law_allows(history: dict[str, Ticket], manager: Any,
                                           django_capture_on_commit_callbacks: Any) -> None:
    inquiry_files = stored_files(history["inquiry"])
    complaint_files = stored_files(history["complaint"])
    kept_files = stored_files(history["held"]) + stored_files(history["open"]) + stored_files(history["other"])
    with django_capture_on_commit_callbacks(execute=True):
        plan = erasure.erase_personal_data(ticket=history["request"], actor=manager)
    assert plan.done
    # The inquiry is gone with its files and audit chain.
    assert not Ticket.objects.filter(pk=history["inquiry"].pk).exists()
    assert not AuditEvent.objects.filter(ticket_id=history["inquiry"].pk).exists()
    assert not any(is_stored(p) for p in inquiry_files + complaint_files)
    # The complaint stays as the statutory record, minus attachments and raw mail.
    complaint = Ticket.objects.get(pk=history["complaint"].pk)
    assert complaint.messages.exists()
    assert not Attachment.objects.filter(message__ticket=complaint).exists()
    assert not complaint.messages.exclude(raw_message="").exists()
    # Held, open, the request itself and someone else's ticket are untouched.
    assert all(is_stored(p) for p in kept_files)
    assert Quarantine.objects.count() == 0
    requester = Requester.objects.get(email=EMAIL)
    assert (requester.name, requester.phone, requester.organization) == ("", "", "")
    assert Requester.objects.get(email="other@example.com").name == "홍길동"
    event = AuditEvent.objects.get(ticket=history["request"], action="erasure.performed")
    assert event.data["erased"] == [history["inquiry"].reference]
    assert event.actor_id == manager.pk
    assert EMAIL not in json.dumps(event.data)
    call_command("verify_audit", stdout=StringIO())  # the trail is still intact


def test_only_the_assignee_or_a_manager_and_only_from_a_deletion_request(
    history: dict[str, Ticket], make_admin: Any, manager: Any
) -> None:
    outsider = make_admin("someone.else")
    with pytest.raises(services.PermissionDeniedError):
        erasure.preview_desk_erasure(ticket=history["request"], actor=outsider)
    with pytest.raises(services.GuardError):
        erasure.preview_desk_erasure(ticket=history["complaint"], actor=manager)


def test_command_previews_without_yes(history: dict[str, Ticket], manager: Any) -> None:
    out = StringIO()
    call_command("erase_requester", history["request"].reference, "--actor", manager.username, stdout=out)
    assert json.loads(out.getvalue())["done"] is False
    assert Ticket.objects.filter(pk=history["inquiry"].pk).exists()
