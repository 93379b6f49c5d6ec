"""Issue 29: without Celery beat, ``manage.py sla_sweep`` (cron) resends mail left pending by a crash."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from helpdesk.intake.ingest import ingest_message
from helpdesk.models import DeliveryStatus, Message, MessageKind

pytestmark = pytest.mark.django_db

MAIL = ("From: Kim <kim@example.kr>\nTo: micube@micube.co.kr\nSubject: 개인정보 열람 요청\n"
        "Message-ID: <cron-1@example.kr>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\n\n제 정보를 보여 주세요.\n").encode()


def _sweep() -> dict[str, Any]:
    out = StringIO()
    call_command("sla_sweep", "--no-digest", stdout=out)
    return dict(json.loads(out.getvalue()))


def test_an_acknowledgement_left_pending_by_a_crash_is_sent_by_the_cron_sweep(make_admin: Any) -> None:
    make_admin("moonwon.park")
    # The ticket is committed, but the process dies before its after-commit hook enqueues the send.
    ingest_message(MAIL, source="crash")  # on-commit callbacks never run in a test's transaction
    ack = Message.objects.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.delivery_status == DeliveryStatus.PENDING and not mail.outbox
    assert _sweep()["resent"] == 0  # younger than ten minutes: its own delivery may still be under way
    Message.objects.filter(pk=ack.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert _sweep()["resent"] == 1
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.SENT
    assert [m.to for m in mail.outbox] == [["kim@example.kr"]]
    assert _sweep()["resent"] == 0  # once only
    assert len(mail.outbox) == 1


def test_a_send_that_fails_again_is_kept_for_the_next_run(make_admin: Any, settings: Any) -> None:
    make_admin("moonwon.park")
    ingest_message(MAIL, source="crash")
    Message.objects.filter(kind=MessageKind.ACKNOWLEDGEMENT).update(created_at=timezone.now() - timedelta(minutes=11))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    assert _sweep()["resent"] == 0
    assert Message.objects.get(kind=MessageKind.ACKNOWLEDGEMENT).delivery_status == DeliveryStatus.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _sweep()["resent"] == 1
