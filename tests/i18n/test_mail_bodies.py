"""Bilingual mail bodies rendered for many tickets at once are the bodies rendered one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import translation

from helpdesk.models import Requester, Ticket
from notifications import services as notify
from notifications.mail import SEPARATOR, render_bilingual, render_bilingual_many


def _ticket(n: int, language: str, name: str, request_type: str) -> Ticket:
    requester = Requester(email=f"r{n}@example.com", name=name, language=language)
    return Ticket(reference=f"PRIV-2026-{n:06d}", requester=requester, subject=f"요청 {n}", request_type=request_type,
                  due_at=datetime(2026, 12, 3 + n % 5, 14 + n % 3, 59, tzinfo=UTC))


TICKETS = [(1, "ko", "홍길동", "access"), (2, "en", "", "deletion"), (3, "en", "Jane Roe", "complaint"),
           (4, "ko", "", "correction"), (5, "ko", "김철수", "consent_withdrawal")]


def test_many_bodies_are_each_body_rendered_alone() -> None:
    tickets = [_ticket(*row) for row in TICKETS]
    one_by_one = [notify.acknowledgement(ticket=ticket, thread=("", [])).body_text for ticket in tickets]
    together = [m.body_text for m in notify.acknowledgements([(ticket, ("", [])) for ticket in tickets])]
    assert together == one_by_one
    # The requester's language first, then the other; every name, reference and deadline in place.
    assert one_by_one[0].startswith("홍길동님") and "Dear 홍길동" in one_by_one[0].split(SEPARATOR)[1]
    assert one_by_one[1].startswith("Dear requester") and "고객님" in one_by_one[1]
    assert "PRIV-2026-000003" in one_by_one[2] and "6 December 2026" in one_by_one[2]  # 23:59 in Seoul
    assert "2026년 12월 4일" in one_by_one[4] and "4 December 2026" in one_by_one[4]  # 16:59 UTC: the 4th there


def test_the_active_language_is_left_as_it_was() -> None:
    with translation.override("en"):
        render_bilingual_many("acknowledgement", [({"ticket": _ticket(1, "ko", "", "access")}, "ko")])
        assert translation.get_language() == "en"


@pytest.mark.parametrize("primary", ["ko", "en"])
def test_one_body_is_the_one_of_many(primary: str, settings: Any) -> None:
    context = {"ticket": _ticket(9, primary, "", "access"), "desk_email": settings.DESK_EMAIL}
    assert render_bilingual("withdrawal", context, primary) == render_bilingual_many(
        "withdrawal", [(context, "en"), (context, primary)])[1]
