"""Issue 28, point 6: a fresh install has the default bilingual response templates (a data migration),
offered by the ticket page's template picker for the matching request types."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Ticket, User
from notifications.models import ResponseTemplate

pytestmark = pytest.mark.django_db


def test_defaults_are_seeded_in_both_languages() -> None:
    names = set(ResponseTemplate.objects.values_list("name", flat=True))
    for wanted in ("Ask for proof of identity", "Access request: answer", "Deletion request: answer",
                   "Correction request: answer", "Refusal", "Deadline extension"):
        assert any(name.startswith(wanted) for name in names), wanted
    for template in ResponseTemplate.objects.all():
        assert "{reference}" in template.body_ko and "{reference}" in template.body_en
        assert "님" in template.body_ko and template.body_en.startswith("Dear {name}")


def test_the_picker_offers_them_on_a_fresh_install(make_ticket: Callable[..., Ticket], admin_user: User,
                                                   manager: User, client_for: Callable[[User], Client]) -> None:
    ticket = make_ticket(request_type="deletion")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    page = client_for(admin_user).get(reverse("desk:ticket", args=[ticket.reference]))
    labels = [c["label"] for c in page.context["template_choices"]]
    assert any(label.startswith("Deletion request: answer") for label in labels)
    assert not any(label.startswith("Access request: answer") for label in labels)  # another type's answer
    assert any(label.startswith("Ask for proof of identity") for label in labels)
    body = next(c["body"] for c in page.context["template_choices"] if c["label"].startswith("Deletion request"))
    assert ticket.reference in body and "{" not in body
