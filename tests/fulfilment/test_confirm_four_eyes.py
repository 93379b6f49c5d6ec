"""Issue 28, point 4: the irreversible steps (approve an erasure, release an access package) ask for a
confirmation that says what will happen in numbers, and DESK_FOUR_EYES makes a second person approve."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from helpdesk import services
from helpdesk.fulfilment import erasure as fulfilment_erasure
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import AccessPackage, ErasurePlan, ErasureStatus, PackageStatus
from helpdesk.models import AuditEvent, Ticket, User
from tests.fulfilment.conftest import crm_toml

pytestmark = pytest.mark.django_db


def desk(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, ticket: Ticket, **kwargs: Any) -> str:
    return reverse(f"fulfilment:{name}", kwargs={"reference": ticket.reference, **kwargs})


def page_text(client: Client, ticket: Ticket) -> str:
    with translation.override("en"):
        html = client.get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def sources(use_sources: Callable[[str], Path], crm_db: Path) -> Path:
    return use_sources(crm_toml(crm_db))


def previewed(ticket: Ticket, actor: User, capture: Any) -> ErasurePlan:
    with capture(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=actor)
    return fulfilment_erasure.preview_erasure(ticket=ticket, actor=actor)


def test_erasure_asks_for_confirmation_with_numbers(sources: Path, verified_ticket: Callable[..., Ticket],
                                                    admin_user: User, django_capture_on_commit_callbacks: Any,
                                                    settings: Any) -> None:
    ticket = verified_ticket("deletion")
    plan = previewed(ticket, admin_user, django_capture_on_commit_callbacks)
    client = desk(admin_user)
    text = page_text(client, ticket)
    # The demo CRM holds one customer row for the requester (deleted), orders kept by law.
    assert "1 row will be deleted from 1 table(s)." in text
    assert "Kept by law: crm / orders — Commercial Act: transaction records 5 years" in text
    assert "An erasure cannot be undone." in text
    assert 'name="confirm"' in client.get(reverse("desk:ticket", args=[ticket.reference])).content.decode()

    # Without the box ticked nothing happens, and the page says why.
    with translation.override("en"):
        answer = client.post(url("approve_erasure", ticket, pk=plan.pk), follow=True)
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.PREVIEWED
    assert "tick the box to confirm" in answer.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("approve_erasure", ticket, pk=plan.pk), {"confirm": "yes"})
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE


def test_release_asks_for_confirmation_with_numbers(sources: Path, verified_ticket: Callable[..., Ticket],
                                                    admin_user: User, django_capture_on_commit_callbacks: Any,
                                                    settings: Any) -> None:
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    records = sum(t["records"] for t in package.contents["tables"])
    client = desk(admin_user)
    text = page_text(client, ticket)
    assert (f"The requester will be able to download {records} records from {len(package.contents['tables'])} "
            f"table(s) for 14 days.") in text
    client.post(url("release_package", ticket, pk=package.pk))
    package.refresh_from_db()
    assert package.status == PackageStatus.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("release_package", ticket, pk=package.pk), {"confirm": "yes"})
    package.refresh_from_db()
    assert package.status == PackageStatus.RELEASED


def test_four_eyes_off_by_default_one_person_may_do_both(sources: Path, verified_ticket: Callable[..., Ticket],
                                                         admin_user: User,
                                                         django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_ticket("deletion")
    plan = previewed(ticket, admin_user, django_capture_on_commit_callbacks)
    fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    event = AuditEvent.objects.get(ticket=ticket, action="fulfilment.erasure_approved")
    assert event.data["four_eyes"] is False and event.data["second_person"] is False


def test_four_eyes_preview_and_approval_by_different_staff(sources: Path, verified_ticket: Callable[..., Ticket],
                                                           admin_user: User, manager: User, settings: Any,
                                                           django_capture_on_commit_callbacks: Any) -> None:
    settings.DESK_FOUR_EYES = True
    ticket = verified_ticket("deletion")
    plan = previewed(ticket, admin_user, django_capture_on_commit_callbacks)
    with pytest.raises(services.GuardError) as refused:
        fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    assert "four_eyes" in refused.value.errors
    # The page tells the previewer instead of offering the button; the manager gets the button.
    assert "another member of staff must approve it" in page_text(desk(admin_user), ticket)
    assert "Approve and erase" in page_text(desk(manager), ticket)
    with django_capture_on_commit_callbacks(execute=True):
        desk(manager).post(url("approve_erasure", ticket, pk=plan.pk), {"confirm": "yes"})
    plan.refresh_from_db()
    assert plan.status == ErasureStatus.DONE and plan.approved_by == manager
    event = AuditEvent.objects.get(ticket=ticket, action="fulfilment.erasure_approved")
    assert event.actor == manager
    assert event.data == {"plan": plan.pk, "prepared_by": admin_user.username, "four_eyes": True,
                          "second_person": True}


def test_four_eyes_on_release(sources: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
                              manager: User, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.DESK_FOUR_EYES = True
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    answer = desk(admin_user).post(url("release_package", ticket, pk=package.pk), {"confirm": "yes"}, follow=True)
    assert AccessPackage.objects.get(pk=package.pk).status == PackageStatus.DRAFT
    assert answer.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.release_access_package(package=package, actor=manager)
    event = AuditEvent.objects.get(ticket=ticket, action="fulfilment.package_released")
    assert event.data["prepared_by"] == admin_user.username and event.data["second_person"] is True
