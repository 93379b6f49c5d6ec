"""Retention: expired records go (rows and files), held and recent ones stay, figures remain."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from helpdesk.models import (
    Attachment,
    AuditEvent,
    Message,
    Quarantine,
    QuarantineStatus,
    Requester,
    RetentionPolicy,
    Ticket,
    TicketStatistic,
)
from helpdesk.trust import retention
from helpdesk.trust.destroy import destroy_stored_file
from tests.trust.conftest import is_stored, stored_files

pytestmark = pytest.mark.django_db


def test_default_policies_come_from_the_privacy_policy() -> None:
    months = dict(RetentionPolicy.objects.values_list("category", "months"))
    assert months["complaint_dispute"] == 36
    assert months["contract_withdrawal"] == 60
    assert months["payment_supply"] == 60
    assert months["display_advertisement"] == 6
    assert months["website_visit"] == 3
    assert retention.category_for("membership_withdrawal") == "contract_withdrawal"
    assert retention.category_for("access") == "complaint_dispute"


def test_months_before_clamps_to_month_end() -> None:
    moment = timezone.now().replace(year=2027, month=3, day=31)
    assert retention.months_before(moment, 1).day == 28
    assert retention.months_before(moment, 36).year == 2024
    assert retention.months_before(moment, -2).month == 5


def test_purge_deletes_expired_keeps_held_and_recent(
    file_ticket: Any, close_ticket: Any, manager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        expired = close_ticket(file_ticket(email="old@example.com"), manager)
        held = close_ticket(file_ticket(email="held@example.com", subject="held"), manager)
        Ticket.objects.filter(pk=held.pk).update(legal_hold=True)
        withdrawal = close_ticket(
            file_ticket(email="w@example.com", subject="탈퇴", request_type="membership_withdrawal"), manager)
        still_open = file_ticket(email="open@example.com", subject="open")
    expired_files = stored_files(expired)
    kept_files = stored_files(held) + stored_files(withdrawal) + stored_files(still_open)
    assert expired_files and all(is_stored(p) for p in expired_files + kept_files)

    # Two years on: nothing is due yet.
    with time_machine.travel(start + timedelta(days=730), tick=False):
        assert retention.purge_expired().counts["tickets"] == 0

    # Three years and a day after closure: the complaint goes; the hold, the 5-year withdrawal and
    # the open ticket stay.
    with time_machine.travel(start + timedelta(days=3 * 366 + 1), tick=False):
        out = StringIO()
        call_command("purge_expired", "--dry-run", stdout=out)
        preview = json.loads(out.getvalue())
        assert preview["dry_run"] is True and preview["counts"]["tickets"] == 1
        assert Ticket.objects.filter(pk=expired.pk).exists()  # a dry run changes nothing

        with django_capture_on_commit_callbacks(execute=True):
            out = StringIO()
            call_command("purge_expired", stdout=out)
        counts = json.loads(out.getvalue())["counts"]

    assert counts["tickets"] == 1
    assert counts["tickets.complaint_dispute"] == 1
    assert counts["attachments"] == 1 and counts["raw_mails"] == 1
    assert not Ticket.objects.filter(pk=expired.pk).exists()
    assert not Message.objects.filter(ticket_id=expired.pk).exists()
    assert not Attachment.objects.filter(message__ticket_id=expired.pk).exists()
    assert not AuditEvent.objects.filter(ticket_id=expired.pk).exists()
    assert not Requester.objects.filter(email="old@example.com").exists()
    assert not any(is_stored(p) for p in expired_files)
    assert all(is_stored(p) for p in kept_files)
    assert set(Ticket.objects.values_list("pk", flat=True)) == {held.pk, withdrawal.pk, still_open.pk}

    # The anonymous figures survive, and a tombstone in the desk-wide chain says what went.
    stat = TicketStatistic.objects.get()
    assert (stat.request_type, stat.channel, stat.received, stat.responded) == ("complaint", "email", 1, 1)
    assert stat.on_time == 1 and stat.first_response_count == 1
    tombstone = AuditEvent.objects.get(action="retention.purged")
    assert tombstone.data["references"] == [expired.reference]
    assert expired.reference in tombstone.data["chain_heads"]


def test_purge_is_idempotent_and_counts_aggregate(file_ticket: Any, close_ticket: Any, manager: Any,
                                                  django_capture_on_commit_callbacks: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(3):
            close_ticket(file_ticket(email=f"p{n}@example.com", subject=f"s{n}"), manager)
    with time_machine.travel(start + timedelta(days=1200), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            first = retention.purge_expired(batch_size=2)
        second = retention.purge_expired()
    assert first.counts["tickets"] == 3 and second.counts["tickets"] == 0
    assert TicketStatistic.objects.get().received == 3


def test_shorter_policy_applies_and_reopened_ticket_is_kept(file_ticket: Any, close_ticket: Any, manager: Any) -> None:
    RetentionPolicy.objects.filter(category="complaint_dispute").update(months=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = close_ticket(file_ticket(), manager)
    with time_machine.travel(start + timedelta(days=40), tick=False):
        assert list(retention.expired_tickets()) == [ticket]
        Ticket.objects.filter(pk=ticket.pk).update(closed_at=None)  # reopened meanwhile
        assert retention.purge_expired().counts["tickets"] == 0


def test_quarantine_purged_after_resolution_files_too(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    from django.core.files.base import ContentFile

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        done = Quarantine(reason="too_large", received_at=start, dedupe_key="q1", status=QuarantineStatus.DISCARDED,
                          resolved_at=start)
        done.raw_message.save("q.eml", ContentFile(b"raw"), save=True)
        pending = Quarantine(reason="unparseable", received_at=start, dedupe_key="q2")
        pending.raw_message.save("q.eml", ContentFile(b"raw"), save=True)
    storage = done.raw_message.storage
    assert storage.exists(done.raw_message.name) and storage.exists(pending.raw_message.name)
    with time_machine.travel(start + timedelta(days=95), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        counts = retention.purge_expired().counts
    assert counts["quarantine"] == 1
    assert not storage.exists(done.raw_message.name)  # the raw mail row went with it
    assert storage.open(pending.raw_message.name).read() == b"raw"
    assert list(Quarantine.objects.values_list("dedupe_key", flat=True)) == ["q2"]


def test_destroy_overwrites_before_deleting(tmp_path: Any) -> None:
    from django.core.files.storage import FileSystemStorage

    storage = FileSystemStorage(location=str(tmp_path))
    name = storage.save("secret.txt", __import__("io").BytesIO(b"secret personal data"))
    assert destroy_stored_file(storage, name) is True
    assert not storage.exists(name)
    assert destroy_stored_file(storage, "") is False


def test_beat_schedule_runs_the_purge_daily(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-records"]
    assert entry["task"] == "helpdesk.trust.retention.purge_expired"
    assert "helpdesk.trust.retention" in settings.CELERY_IMPORTS
    assert retention.purge_expired_task.name == entry["task"]
    result = retention.purge_expired_task.delay().get()
    assert result["dry_run"] is False and result["counts"].get("tickets", 0) == 0


def test_a_merged_duplicate_stays_while_the_ticket_it_went_into_does(
        file_ticket: Any, close_ticket: Any, manager: Any) -> None:
    """Issue 26: its messages are on the staying ticket, whose status page needs their origin."""
    from helpdesk import services

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        stays = file_ticket(email="stays@example.com", subject="남는 요청")
        duplicate = file_ticket(email="dup@example.com", subject="중복 요청")
        services.merge_ticket(duplicate=duplicate, into=stays, actor=manager, confirm_other_requester=True)
    with time_machine.travel(start + timedelta(days=3 * 366), tick=False):
        assert duplicate.pk not in set(retention.expired_tickets().values_list("pk", flat=True))
        close_ticket(stays, manager)
    with time_machine.travel(start + timedelta(days=7 * 366), tick=False):
        retention.purge_expired()
        assert not Ticket.objects.filter(pk=stays.pk).exists()
        assert duplicate.pk in set(retention.expired_tickets().values_list("pk", flat=True))  # now it may go
        retention.purge_expired()
        assert not Ticket.objects.filter(pk=duplicate.pk).exists()
