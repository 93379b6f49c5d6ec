"""The foundation against real parts: PostgreSQL concurrency, a Celery worker on Redis, SMTP."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from helpdesk import services
from helpdesk.models import Channel, DeliveryStatus, MessageKind, Ticket

pytestmark = pytest.mark.postgres


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only: run with DATABASE_URL=postgres://...")


@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_when_created_concurrently(make_admin: Any) -> None:
    _require_postgres()
    make_admin("a.admin")
    make_admin("b.admin")
    threads_count, per_thread = 8, 10
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                services.create_ticket(
                    message=services.InboundMessage(sender_email=f"user{n}-{i}@example.com", subject="동시 접수",
                                                    body_text="x"),
                    channel=Channel.WEB, request_type="deletion", acknowledge=False,
                )
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    references = list(Ticket.objects.values_list("reference", flat=True))
    assert len(references) == len(set(references)) == threads_count * per_thread
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(1, threads_count * per_thread + 1))
    # Fair dealing under concurrency: both administrators got half.
    counts = sorted(Ticket.objects.values_list("assignee__username", flat=True))
    assert counts.count("a.admin") == counts.count("b.admin") == threads_count * per_thread // 2


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_delivers_the_acknowledgement(celery_worker_process: Any, smtp_sink: Any) -> None:
    celery_worker_process()
    ticket = services.create_ticket(
        message=services.InboundMessage(sender_email="kim@example.com", sender_name="김민지",
                                        subject="마케팅 수신 거부", body_text="광고 메일 수신을 거부합니다."),
        channel=Channel.WEB, request_type="consent_withdrawal",
    )
    [mail] = smtp_sink.wait_for(1, timeout=30)
    assert f"[{ticket.reference}]" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert "접수번호" in mail.get_content()
    ack = ticket.messages.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert mail["Message-ID"].strip("<>") == ack.message_id
    # The worker marks the message sent right after the SMTP server accepted it.
    deadline = time.monotonic() + 20
    while ack.delivery_status != DeliveryStatus.SENT and time.monotonic() < deadline:
        time.sleep(0.1)
        ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.SENT
