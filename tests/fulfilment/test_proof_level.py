"""Data is released only on proof strong enough for the request type as it is now (issue 25, point 7).

An inquiry (an e-mail link is proof enough) reclassified to access must not keep its e-mail-only
verification: the reclassification sends it back for verification, visibly, and the lookup, the
package build and the release each check the proof against the type.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.fulfilment import services as fulfilment
from helpdesk.models import AuditEvent, Direction, Ticket, User
from tests.fulfilment.conftest import crm_toml

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(use_sources: Callable[[str], Path], crm_db: Path) -> Path:
    return use_sources(crm_toml(crm_db))


def verified_by_link(make_ticket: Callable[..., Ticket], admin_user: User, manager: User, request_type: str,
                     capture: Any) -> Ticket:
    ticket = make_ticket(request_type=request_type)
    with capture(execute=True):
        services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="email_link")
    ticket.refresh_from_db()
    return ticket


def test_an_inquiry_verified_by_link_and_reclassified_to_access_goes_back_for_verification(
        sources: Path, make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_by_link(make_ticket, admin_user, manager, "inquiry", django_capture_on_commit_callbacks)
    assert ticket.state == "verified"
    with django_capture_on_commit_callbacks(execute=True):
        services.reclassify(ticket=ticket, request_type="access", actor=admin_user)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.resume_state, ticket.verified_at, ticket.verification_method) == \
        ("awaiting_requester", "received", None, "")
    events = list(AuditEvent.objects.filter(ticket=ticket).order_by("seq").values_list("action", "data"))
    assert ("ticket.verification_withdrawn", {"method": "email_link", "request_type": "access"}) in events
    assert events[-1][0] == "transition.request_info"
    question = ticket.messages.filter(direction=Direction.OUTBOUND).order_by("-id").first()
    assert question is not None and "identity document" in question.body_text and "신분증" in question.body_text

    with pytest.raises(services.ServiceError):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    # The requester sends proof: the ticket resumes as received, so only a new verify lets data out.
    services.add_inbound_message(ticket=ticket, message=services.InboundMessage(
        sender_email=ticket.requester.email, body_text="Here is my ID card."))
    ticket.refresh_from_db()
    assert ticket.state == "received"
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_ticket(ticket=ticket, name="verify", actor=admin_user,
                                   verification_method="id_document")
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    assert fulfilment.build_access_package(ticket=ticket, actor=admin_user).status == "draft"


def test_lookup_build_and_release_check_the_proof_against_the_type(
        sources: Path, make_ticket: Callable[..., Ticket], verified_ticket: Callable[..., Ticket], admin_user: User,
        manager: User, django_capture_on_commit_callbacks: Any) -> None:
    weak = verified_by_link(make_ticket, admin_user, manager, "access", django_capture_on_commit_callbacks)
    with pytest.raises(services.GuardError) as info:
        fulfilment.start_lookup(ticket=weak, actor=admin_user)
    assert "verification" in info.value.errors
    desk = Client()
    desk.force_login(admin_user)
    page = desk.get(reverse("desk:ticket", args=[weak.reference])).content.decode()
    assert "이메일 링크로만 확인" in page  # "confirmed only by an e-mail link" (the desk's default language)

    # A package built on good proof, then the ticket's proof is only a link (data from before the fix).
    ticket = verified_ticket("access")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    package = fulfilment.build_access_package(ticket=ticket, actor=admin_user)
    Ticket.objects.filter(pk=ticket.pk).update(verification_method="email_link")
    ticket.refresh_from_db()
    for action in (lambda: fulfilment.build_access_package(ticket=ticket, actor=admin_user),
                   lambda: fulfilment.release_access_package(package=package, actor=admin_user)):
        with pytest.raises(services.GuardError):
            action()
    package.refresh_from_db()
    assert package.status == "draft"


def test_a_type_for_which_the_link_suffices_keeps_its_verification(
        make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
        django_capture_on_commit_callbacks: Any) -> None:
    ticket = verified_by_link(make_ticket, admin_user, manager, "inquiry", django_capture_on_commit_callbacks)
    services.reclassify(ticket=ticket, request_type="complaint", actor=admin_user)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.verification_method) == ("verified", "email_link")
