"""After an erasure no ticket of the requester keeps a copy of the erased data (issue 25, point 9):
the lookups of older tickets keep only counts, and a package released on an older ticket can no
longer be downloaded (withdrawn, its file destroyed) — after the erasure at the sources and after
the desk's own erasure alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.fulfilment import erasure as fulfilment_erasure
from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import AccessPackage, DataLookup, PackageStatus
from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.public import tokens
from helpdesk.trust import erasure as desk_erasure
from tests.fulfilment.conftest import HttpService, crm_toml, http_toml

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(use_sources: Callable[[str], Path], crm_db: Path, http_service: HttpService) -> Path:
    return use_sources(crm_toml(crm_db) + http_toml(http_service))


@pytest.fixture
def released(sources: Path, verified_ticket: Callable[..., Ticket], admin_user: User,
             django_capture_on_commit_callbacks: Any) -> AccessPackage:
    """An older access request whose package the requester can download."""
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
        fulfilment.release_access_package(package=package, actor=admin_user)
    package.refresh_from_db()
    assert package.is_downloadable() and download(package).status_code == 200
    return package


def download(package: AccessPackage) -> Any:
    token = tokens.status_token(package.ticket)
    return Client().get(reverse("fulfilment:requester_download", kwargs={"token": token, "pk": package.pk}))


def assert_no_copy_left(package: AccessPackage, erasure_ticket: Ticket) -> None:
    name, storage = package.file.name, package.file.storage
    package.refresh_from_db()
    assert package.status == PackageStatus.WITHDRAWN and not package.is_downloadable()
    assert download(package).status_code == 410
    assert not storage.exists(name)  # the ZIP with the erased data is destroyed
    for lookup in DataLookup.objects.filter(ticket__requester=package.ticket.requester):
        tables = [t for s in lookup.sources for t in s["tables"]]
        assert tables and all(t["records"] == [] and t["redacted"] for t in tables)
        assert sum(t["count"] for t in tables) > 0  # what was found stays countable
    event = AuditEvent.objects.get(ticket=package.ticket, action="fulfilment.copies_withdrawn")
    assert event.data == {"erasure": erasure_ticket.reference, "lookups_redacted": 1,
                          "packages_withdrawn": [package.pk]}


def test_the_erasure_at_the_sources_withdraws_older_tickets_copies(
        released: AccessPackage, verified_ticket: Callable[..., Ticket], admin_user: User,
        django_capture_on_commit_callbacks: Any) -> None:
    deletion = verified_ticket("deletion")
    assert deletion.requester_id == released.ticket.requester_id
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=deletion, actor=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        plan = fulfilment_erasure.preview_erasure(ticket=deletion, actor=admin_user)
        fulfilment_erasure.approve_erasure(plan=plan, actor=admin_user)
    plan.refresh_from_db()
    assert plan.status == "done"
    assert_no_copy_left(released, deletion)


def test_the_desks_own_erasure_withdraws_them_too(released: AccessPackage, make_ticket: Callable[..., Ticket],
                                                 manager: User, django_capture_on_commit_callbacks: Any) -> None:
    deletion = make_ticket(request_type="deletion")
    assert deletion.requester_id == released.ticket.requester_id
    with django_capture_on_commit_callbacks(execute=True):
        desk_erasure.erase_personal_data(ticket=deletion, actor=manager)
    assert_no_copy_left(released, deletion)
