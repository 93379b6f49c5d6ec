"""Fixtures for the records-and-trust tests: tickets with files, closed the lawful way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import Storage

from helpdesk import services
from helpdesk.models import Channel, Ticket, User


@pytest.fixture
def file_ticket(db: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Ticket]:
    """A ticket whose first message carries raw mail and one attachment (both files on disk)."""

    def make(*, email: str = "hong@example.com", request_type: str = "complaint", subject: str = "불만 접수",
             body: str = "개인정보 처리에 대한 불만입니다.", filename: str = "신분증.pdf") -> Ticket:
        message = services.InboundMessage(
            sender_email=email, sender_name="홍길동", subject=subject, body_text=body,
            message_id=f"<{subject}-{email}@example.com>", raw_message=b"From: x\r\n\r\nraw bytes",
            attachments=[services.NewAttachment(filename=filename, content_type="application/pdf",
                                                data=b"%PDF-1.4 identity document")],
        )
        with django_capture_on_commit_callbacks(execute=True):
            return services.create_ticket(message=message, channel=Channel.EMAIL, request_type=request_type)

    return make


@pytest.fixture
def close_ticket(django_capture_on_commit_callbacks: Any) -> Callable[[Ticket, User], Ticket]:
    """Close a ticket with a reasoned refusal (a complete answer, as far as the clock goes)."""

    def close(ticket: Ticket, actor: User) -> Ticket:
        with django_capture_on_commit_callbacks(execute=True):
            services.transition_ticket(ticket=ticket, name="reject", actor=actor, reason="no_data_held",
                                       explanation="We hold no data about you.")
        ticket.refresh_from_db()
        assert ticket.closed_at is not None
        return ticket

    return close


def stored_files(ticket: Ticket) -> list[tuple[Storage, str]]:
    """A ticket's stored files: its raw mail (database rows) and attachments (files)."""
    files: list[tuple[Storage, str]] = []
    for message in ticket.messages.all():
        if message.raw_message.name:
            files.append((message.raw_message.storage, message.raw_message.name))
        files.extend((a.file.storage, a.file.name) for a in message.attachments.all())
    return files


def is_stored(file: tuple[Storage, str]) -> bool:
    storage, name = file
    return bool(storage.exists(name))
