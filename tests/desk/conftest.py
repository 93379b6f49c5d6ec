"""Fixtures for the desk's tests: signed-in clients, tickets with messages, quarantine, templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from helpdesk import services
from helpdesk.models import Quarantine, Ticket, User
from notifications.models import ResponseTemplate
from tests.fulfilment.conftest import crm_db, use_sources, verified_ticket  # noqa: F401 (shared fixtures)


@pytest.fixture
def client_for(db: Any) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def add_messages(django_capture_on_commit_callbacks: Any) -> Callable[..., None]:
    """Give a ticket ``n`` more inbound messages, each with one attachment."""

    def add(ticket: Ticket, n: int) -> None:
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                services.add_inbound_message(ticket=ticket, message=services.InboundMessage(
                    sender_email=ticket.requester.email, subject=f"Re: {ticket.subject}",
                    body_text=f"추가 자료 {i}", raw_message=b"From: x@example.com\r\n\r\nbody",
                    attachments=[services.NewAttachment(filename=f"id-{i}.pdf", content_type="application/pdf",
                                                        data=b"%PDF-1.4 test")],
                ))

    return add


@pytest.fixture
def response_template(db: Any) -> ResponseTemplate:
    return ResponseTemplate.objects.create(
        name="Access answer",
        body_ko="{name}님, 요청({reference})에 답변드립니다. 기한: {due_date}. 제목: {subject}",
        body_en="Dear {name}, here is the answer to {reference}, due {due_date} ({subject}). {unknown}",
    )


@pytest.fixture
def make_quarantine(db: Any) -> Callable[..., Quarantine]:
    def make(raw: bytes = b"From: Stranger <stranger@example.com>\r\nSubject: help\r\n\r\n<script>alert(1)</script>",
             **extra: Any) -> Quarantine:
        fields = {"reason": "unparseable", "sender": "Stranger <stranger@example.com>", "subject": "help",
                  "dedupe_key": f"sha256:{hash(raw)}", "received_at": timezone.now(), "size": len(raw), **extra}
        item = Quarantine(**fields)
        item.raw_message.save("raw.eml", ContentFile(raw), save=False)
        item.save()
        return item

    return make
