"""Issue 28, point 2: the timeline reads as sentences in the reader's language, with people's names —
for every kind of audit event the code records, not only the examples in the issue."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from helpdesk import services
from helpdesk.desk import timeline
from helpdesk.models import AuditEvent, Ticket, User
from helpdesk.trust import audit
from workflows import transitions

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r"""action\s*=\s*["']([a-z_]+\.[a-z_]+)["']""")


def recorded_kinds() -> set[str]:
    """Every audit event kind the code records: literal ``action="…"`` and one per transition."""
    kinds = {f"transition.{name}" for name in transitions.REGISTRY}
    for folder in ("helpdesk", "notifications", "workflows"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                kinds |= set(RECORDED.findall(path.read_text(encoding="utf-8")))
    return kinds


def test_every_recorded_kind_has_a_sentence() -> None:
    kinds = recorded_kinds()
    assert {"requester.consent_given", "fulfilment.package_downloaded", "ticket.assigned"} <= kinds
    assert sorted(kinds - set(timeline.SENTENCES)) == []


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_sentence_is_translated_and_has_no_code(language: str) -> None:
    with translation.override(language):
        for kind, sentence in timeline.SENTENCES.items():
            for text in (sentence.by_person, sentence.automatic):
                if text is None:
                    continue
                rendered = str(text)
                assert kind not in rendered and "_" not in rendered.replace("%(", "").split(")s")[-1]
                if language == "ko":
                    assert re.search(r"[가-힣]", rendered), (kind, rendered)


@pytest.mark.django_db
def test_ticket_timeline_reads_as_sentences_with_names(make_ticket: Callable[..., Ticket], admin_user: User,
                                                       manager: User) -> None:
    ticket = make_ticket(request_type="access")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    services.transition_ticket(ticket=ticket, name="verify", actor=admin_user, verification_method="email_link")
    audit.record_event(ticket=ticket, actor=None, actor_name=f"requester <{ticket.requester.email}>",
                       action="requester.consent_given", data={"version": "2026-01"})
    audit.record_event(ticket=ticket, actor=None, actor_name="requester <x@example.com>",
                       action="fulfilment.package_downloaded", data={"package": 1})
    client = Client()
    client.force_login(admin_user)
    html = client.get(reverse("desk:ticket", args=[ticket.reference])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for code in ("requester.consent_given", "fulfilment.package_downloaded", "transition.verify",
                 admin_user.username):
        assert code not in text
    assert f"{manager} 님이 티켓을 {admin_user} 님에게 배정했습니다." in text
    assert f"{admin_user} 님이 요청자의 신원을 확인했습니다(" in text
    assert "요청자 님이 열람 자료 패키지를 내려받았습니다." in text
    en = client.get(reverse("desk:ticket", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 200
    with translation.override("en"):
        names = timeline.Names({admin_user.username})
        events = {e.action: e for e in AuditEvent.objects.filter(ticket=ticket)}
        assert str(timeline.describe(events["ticket.assigned"], names)) == (
            f"{manager} assigned the ticket to {admin_user}.")
        assert str(timeline.describe(events["requester.consent_given"], names)).startswith("The requester agreed")
