"""End to end through the desk and the status page: find → package → release → download, and
find → preview → approve → erase → answer, with the ``process`` guard, permissions and failures."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpdesk import services
from helpdesk.fulfilment import erasure as fulfilment_erasure
from helpdesk.fulfilment import selectors
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import (
    AccessPackage,
    DataLookup,
    ErasurePlan,
    ErasureStatus,
    LookupStatus,
    StepStatus,
)
from helpdesk.models import AuditEvent, Direction, Ticket, User
from helpdesk.public import tokens
from helpdesk.trust import retention
from tests.fulfilment.conftest import HttpService, crm_toml, http_toml

pytestmark = pytest.mark.django_db


def desk(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, ticket: Ticket, **kwargs: Any) -> str:
    return reverse(f"fulfilment:{name}", kwargs={"reference": ticket.reference, **kwargs})


def actions(ticket: Ticket) -> list[str]:
    return list(AuditEvent.objects.filter(ticket=ticket, action__startswith="fulfilment.").order_by("seq")
                .values_list("action", flat=True))


@pytest.fixture
def sources(use_sources: Callable[[str], Path], crm_db: Path, http_service: HttpService) -> Path:
    return use_sources(crm_toml(crm_db) + http_toml(http_service))


def test_access_request_end_to_end(sources: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
                                   django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("access")
    admin = desk(admin_user)
    page = admin.get(reverse("desk:ticket", args=[ticket.reference]))
    assert "찾은 개인정보" in page.content.decode()  # "Personal data found"

    # The process guard holds before anything is released.
    with pytest.raises(services.GuardError) as info:
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="done")
    assert "fulfilment" in info.value.errors

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url("lookup", ticket)).status_code == 302
    lookup = selectors.latest_lookup(ticket)
    assert lookup is not None and lookup.status == LookupStatus.DONE
    assert [s["name"] for s in lookup.sources] == ["crm", "newsletter"]
    body = admin.get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
    assert "길동상사" in body and "product-news" in body  # the records, on the ticket page

    assert admin.post(url("build_package", ticket)).status_code == 302
    package = AccessPackage.objects.get(ticket=ticket)
    review = admin.get(url("review_package", ticket, pk=package.pk))
    assert review.status_code == 200 and "홍길동" in review.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url("release_package", ticket, pk=package.pk), {"confirm": "yes"}).status_code == 302
    package.refresh_from_db()
    assert package.status == "released" and package.expires_at > timezone.now() + timedelta(days=13)
    reply = ticket.messages.filter(direction=Direction.OUTBOUND).order_by("-id").first()
    assert reply is not None and "status page" in reply.body_text and "상태 페이지" in reply.body_text

    # The requester downloads it from the status page.
    token = tokens.status_token(ticket)
    status_page = Client().get(reverse("public:status", kwargs={"token": token})).content.decode()
    download = reverse("fulfilment:requester_download", kwargs={"token": token, "pk": package.pk})
    assert download in status_page
    response = Client().get(download)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"data.json", "summary.html", "crm/customers.csv", "crm/orders.csv", "newsletter/records.csv"} <= names
    data = json.loads(archive.read("data.json"))
    assert data["reference"] == ticket.reference and data["sources"][0]["tables"][0]["records"][0]["name"] == "홍길동"
    assert archive.read("crm/customers.csv").decode("utf-8-sig").splitlines()[0] == "name,email,phone,company"
    summary = archive.read("summary.html").decode()
    assert "개인정보" in summary and "Your personal information" in summary and "길동상사" in summary

    # Released and recorded: the ticket may now be processed.
    ticket.refresh_from_db()
    services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="Copy released")
    assert actions(ticket) == ["fulfilment.lookup_started", "fulfilment.lookup_finished", "fulfilment.package_built",
                               "fulfilment.package_reviewed", "fulfilment.package_released",
                               "fulfilment.package_downloaded"]
    released = AuditEvent.objects.get(ticket=ticket, action="fulfilment.package_released").data
    assert {"source": "crm", "table": "customers", "records": 1, "file": "crm/customers.csv"} in released["tables"]


def test_deletion_request_end_to_end(sources: Path, crm_db: Path, http_service: HttpService,
                                     verified_ticket: Callable[..., Ticket], admin_user: User,
                                     django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("deletion")
    admin = desk(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(url("lookup", ticket))
    assert admin.post(url("preview_erasure", ticket)).status_code == 302
    plan = selectors.latest_plan(ticket)
    assert plan is not None and plan.status == ErasureStatus.PREVIEWED
    steps = {(s.source, s.table): s for s in plan.steps.all()}
    assert {k: (s.action, s.status, s.found) for k, s in steps.items()} == {
        ("crm", "customers"): ("delete", StepStatus.PENDING, 1),
        ("crm", "orders"): ("keep", StepStatus.KEPT, 2),
        ("crm", "newsletter"): ("set", StepStatus.PENDING, 1),
        ("newsletter", "records"): ("delete", StepStatus.PENDING, 1),
    }
    with sqlite3.connect(crm_db) as db:  # a preview changes nothing
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 5

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url("approve_erasure", ticket, pk=plan.pk), {"confirm": "yes"}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE lower(email) = 'requester@example.com'"
                          ).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 4
        assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 4  # kept by law
        assert db.execute("SELECT subscribed FROM newsletter WHERE email = 'requester@example.com'").fetchone() == (0,)
    assert http_service.records == {}
    # The desk keeps no copy of what it erased: the lookup keeps counts only.
    lookup = selectors.latest_lookup(ticket)
    assert lookup is not None and lookup.record_count == 0
    assert {t["name"]: t["count"] for t in lookup.sources[0]["tables"]} == {
        "customers": 1, "orders": 2, "newsletter": 1}
    assert "길동상사" not in json.dumps(lookup.result, ensure_ascii=False)
    erased = AuditEvent.objects.filter(ticket=ticket, action="fulfilment.table_erased")
    assert sorted((e.data["source"], e.data["table"], e.data["affected"]) for e in erased) == [
        ("crm", "customers", 1), ("crm", "newsletter", 1), ("newsletter", "records", 1)]

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url("report_erasure", ticket, pk=plan.pk)).status_code == 302
    answer = ticket.messages.filter(direction=Direction.OUTBOUND).order_by("-id").first()
    assert answer is not None
    assert "crm / customers: deleted, 1 record(s)" in answer.body_text
    assert "crm / orders (2 record(s)): Commercial Act: transaction records 5 years" in answer.body_text
    assert "crm / customers: 삭제 1건" in answer.body_text
    ticket.refresh_from_db()
    services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="Erased")


def test_consent_withdrawal_only_changes_set_tables(sources: Path, crm_db: Path, verified_ticket: Callable[..., Ticket],
                                                    admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("consent_withdrawal")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    plan = fulfilment_erasure.preview_erasure(ticket=ticket, actor=admin_user)
    assert [(s.source, s.table, s.action) for s in plan.steps.all()] == [("crm", "newsletter", "set")]
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 5
        assert db.execute("SELECT subscribed FROM newsletter WHERE email = 'requester@example.com'").fetchone() == (0,)


def test_a_failed_source_fails_alone_blocks_the_package_and_a_retry_picks_it_up(
        sources: Path, http_service: HttpService, verified_ticket: Callable[..., Ticket], admin_user: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("access")
    http_service.status = 503
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    lookup = selectors.latest_lookup(ticket)
    assert lookup is not None and lookup.status == LookupStatus.PARTIAL
    assert lookup.failed_sources == ["newsletter"]
    assert lookup.sources[0]["tables"][0]["records"]  # crm answered
    page = desk(admin_user).get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
    assert "the service answered HTTP 503" in page
    with pytest.raises(services.GuardError, match="newsletter"):
        fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    http_service.status = 200
    crm_calls = len(http_service.calls)
    with django_capture_on_commit_callbacks(execute=True):
        desk(admin_user).post(url("retry_lookup", ticket, pk=lookup.pk))
    lookup.refresh_from_db()
    assert lookup.status == LookupStatus.DONE and lookup.failed_sources == []
    assert len(http_service.calls) == crm_calls + 1  # only the failed source was asked again
    assert fulfilment.build_access_package(ticket=ticket, actor=admin_user).status == "draft"


def test_an_http_source_down_mid_erasure_is_retried_and_done_tables_are_never_erased_twice(
        sources: Path, crm_db: Path, http_service: HttpService, verified_ticket: Callable[..., Ticket],
        admin_user: User, django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("deletion")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    plan = fulfilment_erasure.preview_erasure(ticket=ticket, actor=admin_user)
    http_service.status = 500  # the newsletter service breaks after the preview
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.PARTIAL
    statuses = {(s.source, s.table): s.status for s in plan.steps.all()}
    assert statuses[("crm", "customers")] == StepStatus.DONE
    assert statuses[("newsletter", "records")] == StepStatus.FAILED
    with pytest.raises(services.GuardError):
        services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="x")
    # The same person signs up again meanwhile: a retry must not erase the done table a second time.
    with sqlite3.connect(crm_db) as db:
        db.execute("INSERT INTO customers (name, email) VALUES ('홍길동', 'requester@example.com')")
    http_service.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        desk(admin_user).post(url("retry_erasure", ticket, pk=plan.pk))
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE email = 'requester@example.com'").fetchone()[0] == 1
    customers = plan.steps.get(table="customers")
    assert customers.attempts == 1 and customers.affected == 1
    assert plan.steps.get(source="newsletter").attempts == 2
    ticket.refresh_from_db()
    services.transition_ticket(ticket=ticket, name="process", actor=admin_user, note="Erased")


def test_done_by_hand_with_a_written_reason_lifts_the_guard(verified_ticket: Callable[..., Ticket],
                                                            admin_user: User) -> None:
    ticket = verified_ticket("deletion")
    admin = desk(admin_user)
    admin.post(url("manual", ticket), {"reason": "short"})
    assert selectors.processing_blocker(ticket) is not None
    admin.post(url("manual", ticket), {"reason": "Deleted in the legacy ERP by hand (no connector)."})
    assert selectors.processing_blocker(ticket) is None
    ticket.refresh_from_db()
    r = admin.post(reverse("desk:transition", args=[ticket.reference, "process"]),
                   {"process-note": "Deleted by hand", "process-version": ticket.version})
    assert r.status_code == 302
    event = AuditEvent.objects.get(ticket=ticket, action="fulfilment.done_by_hand")
    assert event.data["reason"].startswith("Deleted in the legacy ERP")


def test_the_guard_shows_on_the_desk_and_in_the_api(verified_ticket: Callable[..., Ticket], admin_user: User) -> None:
    ticket = verified_ticket("access")
    admin = desk(admin_user)
    r = admin.post(reverse("desk:transition", args=[ticket.reference, "process"]),
                   {"process-note": "Sent it", "process-version": ticket.version})
    assert r.status_code == 400 and "먼저 열람 자료를 요청인에게 공개하거나" in r.content.decode()
    api = admin.post(f"/api/v1/tickets/{ticket.reference}/transitions/process/", {"note": "Sent it"},
                     content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 400 and "fulfilment" in api.json()["error"]["fields"]


def test_other_request_types_are_not_guarded(make_ticket: Callable[..., Ticket], manager: User) -> None:
    ticket = make_ticket(request_type="complaint")
    assert selectors.processing_blocker(ticket) is None
    assert selectors.panel(ticket, manager) is None


def test_only_the_assigned_administrator_or_a_manager_may_act(
        sources: Path, verified_ticket: Callable[..., Ticket], other_admin: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("access")
    assert desk(other_admin).post(url("lookup", ticket)).status_code == 403  # assigned to someone else
    with django_capture_on_commit_callbacks(execute=True):
        assert desk(manager).post(url("lookup", ticket)).status_code == 302
    package = fulfilment.build_access_package(ticket=ticket, actor=manager)
    assert desk(other_admin).post(url("release_package", ticket, pk=package.pk), {"confirm": "yes"}).status_code == 403
    assert desk(other_admin).get(url("staff_download", ticket, pk=package.pk)).status_code == 403
    anonymous = Client().post(url("lookup", ticket))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    with pytest.raises(services.PermissionDeniedError):
        fulfilment.release_access_package(package=package, actor=other_admin)


def test_requester_gets_only_their_own_released_unexpired_package(
        sources: Path, verified_ticket: Callable[..., Ticket], admin_user: User, make_ticket: Callable[..., Ticket],
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    token = tokens.status_token(ticket)
    link = reverse("fulfilment:requester_download", kwargs={"token": token, "pk": package.pk})
    assert Client().get(link).status_code == 410  # built but not released: not yet downloadable
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.release_access_package(package=package, actor=admin_user)
    assert Client().get(link).status_code == 200
    # Someone else's status link cannot open it, nor can a forged one.
    other = make_ticket(email="someone.else@example.com")
    other_link = reverse("fulfilment:requester_download",
                         kwargs={"token": tokens.status_token(other), "pk": package.pk})
    assert Client().get(other_link).status_code == 404
    forged = reverse("fulfilment:requester_download", kwargs={"token": token[:-2] + "xx", "pk": package.pk})
    assert Client().get(forged).status_code == 404
    # Expired: refused, and the status page says so.
    AccessPackage.objects.filter(pk=package.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = Client().get(link)
    assert gone.status_code == 410
    status_page = Client().get(reverse("public:status", kwargs={"token": token})).content.decode()
    assert link not in status_page
    # A rotated access key revokes every link, this one included.
    Ticket.objects.filter(pk=ticket.pk).update(access_key="rotated")
    assert Client().get(link).status_code == 404


def test_lookup_needs_a_verified_ticket_and_configured_sources(
        use_sources: Callable[[str], Path], make_ticket: Callable[..., Ticket], verified_ticket: Callable[..., Ticket],
        manager: User, crm_db: Path) -> None:
    unverified = make_ticket(request_type="access")
    use_sources(crm_toml(crm_db))
    with pytest.raises(services.TransitionNotAllowedError):
        fulfilment.start_lookup(ticket=unverified, actor=manager)
    ticket = verified_ticket("access")
    use_sources('[[source]]\nname="crm"\nurl="sqlite://"\n[[source.table]]\nname="t"\nmatch="e"\nerase="keep"\n')
    with pytest.raises(services.GuardError, match="keep_reason"):
        fulfilment.start_lookup(ticket=ticket, actor=manager)
    page = desk(manager).get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
    assert "keep_reason" in page  # the broken file is shown on the ticket page, not a 500


def test_purging_the_ticket_destroys_its_package_file(sources: Path, verified_ticket: Callable[..., Ticket],
                                                      admin_user: User, django_capture_on_commit_callbacks: Any,
                                                      tmp_path: Path) -> None:
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    first = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    first_path = Path(first.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        second = fulfilment.build_access_package(ticket=ticket, actor=admin_user)  # replaces the draft
    assert not first_path.exists() and Path(second.file.path).exists()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        retention.delete_tickets([Ticket.objects.select_for_update().get(pk=ticket.pk)], reason="retention")
    assert not AccessPackage.objects.exists() and not Path(second.file.path).exists()


def test_work_whose_worker_died_does_not_block_the_ticket(
        sources: Path, crm_db: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("deletion")
    lookup = fulfilment.start_lookup(ticket=ticket, actor=admin_user)  # queued; its task never ran
    with pytest.raises(services.ConflictError):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    DataLookup.objects.filter(pk=lookup.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        fresh = fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    lookup.refresh_from_db()
    assert lookup.status == LookupStatus.FAILED and fresh.status == LookupStatus.QUEUED
    fresh.refresh_from_db()
    assert fresh.status == LookupStatus.DONE
    # An erasure approved, then the worker killed after claiming a table: a retry finishes it.
    plan = fulfilment_erasure.preview_erasure(ticket=ticket, actor=admin_user)
    fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)  # on-commit task not run: "the worker died"
    plan.steps.filter(table="customers").update(status=StepStatus.RUNNING, attempts=1)
    with pytest.raises(services.ConflictError):
        fulfilment_erasure.retry_erasure(plan=plan, actor=admin_user)
    ErasurePlan.objects.filter(pk=plan.pk).update(approved_at=timezone.now() - timedelta(hours=1))
    plan.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_erasure.retry_erasure(plan=plan, actor=admin_user)
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE
    assert plan.steps.get(table="customers").attempts == 2
    with sqlite3.connect(crm_db) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE email = 'requester@example.com'").fetchone()[0] == 0


def test_before_verification_the_panel_says_when_the_lookup_can_run(
        sources: Path, make_ticket: Callable[..., Ticket], verified_ticket: Callable[..., Ticket],
        manager: User) -> None:
    waiting = make_ticket(request_type="deletion", email="early@example.com")
    note = "신원이 확인되면 개인정보를 조회"
    page = desk(manager).get(reverse("desk:ticket", args=[waiting.reference])).content.decode()
    assert note in page and url("lookup", waiting) not in page
    ready = verified_ticket("access", email="ready@example.com")
    page = desk(manager).get(reverse("desk:ticket", args=[ready.reference])).content.decode()
    assert note not in page and url("lookup", ready) in page
