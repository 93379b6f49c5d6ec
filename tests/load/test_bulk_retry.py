"""Issue 31, point 2: a bulk action whose worker is SIGKILLed mid-way runs exactly once per ticket.

A real Celery worker on Redis runs a templated reply to 200 tickets; once part of them is done the
worker is killed with SIGKILL (its task stays unacknowledged at the broker). A second worker starts, the
beat sweep re-enqueues the stalled job — and, as a redelivered message would, the same job is enqueued a
second time too. In the end every ticket has exactly one ``reply.sent`` audit event and one reply
message, and the real SMTP sink received exactly one mail per requester.

Run: ``make load`` (``python -m pytest -m load tests/load``, PostgreSQL).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from helpdesk import services
from helpdesk.models import AuditEvent, BulkItemState, BulkJob, BulkJobStatus, Channel, Message, MessageKind, User
from helpdesk.services import bulk_actions
from notifications.models import ResponseTemplate
from tests.support.realservices import SmtpSink

pytestmark = pytest.mark.load

TICKETS = 200
KILL_AFTER = 40  # items done when the worker is killed


def _done(job: BulkJob) -> int:
    return job.items.filter(state=BulkItemState.DONE).count()


def test_bulk_reply_killed_mid_way_and_retried_runs_once_per_ticket(
        celery_worker_process: Any, smtp_sink: SmtpSink, make_admin: Any, manager: User) -> None:
    make_admin("moonwon.park")
    tickets = [services.create_ticket(
        message=services.InboundMessage(sender_email=f"surge{i}@example.com", subject=f"유출 문의 {i}",
                                        body_text="제 정보가 유출되었나요?"),
        channel=Channel.WEB, request_type="complaint", acknowledge=False, language="en" if i % 2 else "ko")
        for i in range(TICKETS)]
    template = ResponseTemplate.objects.create(name="Breach", body_ko="{reference} 접수",
                                               body_en="{reference} received")
    first = celery_worker_process()

    job = bulk_actions.start_bulk_job(actor=manager, action="reply", ticket_ids=[t.pk for t in tickets],
                                      params={"template": template.pk}, language="en")  # enqueued on commit
    deadline = time.monotonic() + 120
    while _done(job) < KILL_AFTER:
        assert time.monotonic() < deadline, first.log()
        time.sleep(0.02)
    first.kill()  # SIGKILL, mid-job: the task is never acknowledged
    done_at_kill = _done(job)
    assert done_at_kill < TICKETS, "the job finished before the kill: raise TICKETS"
    job.refresh_from_db()
    assert job.status == BulkJobStatus.RUNNING

    second = celery_worker_process()
    assert bulk_actions.resume_stalled_jobs(idle_seconds=0) == [job.pk]  # what beat does after 10 idle minutes
    bulk_actions.enqueue(bulk_actions.TASK, job.pk)  # and a duplicate delivery of the same job
    deadline = time.monotonic() + 300
    while True:
        job.refresh_from_db()
        if job.status == BulkJobStatus.DONE:
            break
        assert time.monotonic() < deadline, second.log()
        time.sleep(0.2)

    # Mail the first worker had taken but not sent when it died: beat's retry sweep re-enqueues it.
    from notifications.tasks import retry_pending_messages

    retry_pending_messages(0)
    sent = smtp_sink.wait_for(TICKETS, timeout=120)
    time.sleep(3)  # anything sent twice would arrive now
    sent = list(smtp_sink.messages)

    replies = Message.objects.filter(ticket__in=tickets, kind=MessageKind.REPLY)
    events = Counter(AuditEvent.objects.filter(action="reply.sent", ticket__in=tickets)
                     .values_list("ticket_id", flat=True))
    recipients = Counter(str(m["To"]) for m in sent)
    print(f"\nbulk reply to {TICKETS} tickets: worker SIGKILLed after {done_at_kill} done; "
          f"job runs {job.runs}; reply.sent events {sum(events.values())}; replies {replies.count()}; "
          f"mails in the sink {len(sent)} to {len(recipients)} addresses")
    assert connection.vendor == "postgresql"
    assert job.runs >= 2
    assert bulk_actions.bulk_progress(job) == {"pending": 0, "done": TICKETS, "skipped": 0, "failed": 0,
                                               "total": TICKETS}
    assert sorted(events.values()) == [1] * TICKETS
    assert replies.count() == TICKETS
    assert len(sent) == TICKETS and set(recipients.values()) == {1}
    assert AuditEvent.objects.filter(action="bulk.finished", data__job=job.pk).count() == 1
