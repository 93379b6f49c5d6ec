"""The legal calendar against hand-checked dates (each checked on a printed calendar and against
the Korean government's holiday list; the reasoning is in the ``why`` column)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import holidays
import pytest

from helpdesk.models import Ticket
from tests.deadlines.conftest import SEOUL, seoul
from workflows import calendar, korean_holidays
from workflows.calendar import LegalCalendar
from workflows.models import ClosureDay, PeriodUnit, SlaPolicy
from workflows.sla import compute_due_at, policy_for

# received (aware), jurisdiction, request type, expected last day, why
CASES: list[tuple[datetime, str, str, date, str]] = [
    (datetime(2026, 9, 11, 14, 30, tzinfo=UTC), "kr", "access", date(2026, 9, 21),
     "Fri 23:30 Seoul (14:30 UTC): received Friday, day 1 = Sat 12, day 10 = Mon 21 Sep"),
    (datetime(2026, 9, 11, 15, 30, tzinfo=UTC), "kr", "access", date(2026, 9, 22),
     "Fri 15:30 UTC is Sat 00:30 in Seoul: received Saturday, day 10 = Tue 22 Sep"),
    (seoul(2026, 9, 14, 10), "kr", "deletion", date(2026, 9, 28),
     "day 10 = Thu 24 Sep (Chuseok eve); 25 Chuseok, 26 Sat (2nd day, no substitute: only a Sunday "
     "overlap gives one for Chuseok), 27 Sun → Mon 28 Sep"),
    (seoul(2026, 9, 23, 10), "kr", "complaint", date(2026, 10, 6),
     "day 10 = Sat 3 Oct (Foundation Day), Sun 4, Mon 5 = substitute holiday for 3 Oct → Tue 6 Oct"),
    (seoul(2027, 1, 29, 18), "kr", "access", date(2027, 2, 10),
     "day 10 = Mon 8 Feb 2027 (Seollal 2nd day; Seollal 6–8 Feb), Tue 9 = substitute for Sun 7 → Wed 10"),
    (seoul(2026, 7, 2, 9), "kr", "correction", date(2026, 7, 13),
     "day 10 = Sun 12 Jul → Mon 13 Jul"),
    (seoul(2027, 1, 31, 12), "gdpr", "access", date(2027, 3, 2),
     "one month from 31 Jan = 28 Feb 2027 (Sun), Mon 1 Mar = Independence Movement Day → Tue 2 Mar"),
    (seoul(2026, 1, 31, 12), "gdpr", "deletion", date(2026, 3, 3),
     "28 Feb 2026 (Sat), Sun 1 Mar holiday, Mon 2 Mar substitute → Tue 3 Mar"),
    (seoul(2028, 1, 31, 12), "gdpr", "access", date(2028, 2, 29),
     "leap year: one month from 31 Jan 2028 = Tue 29 Feb, a working day"),
    (seoul(2026, 8, 10, 9), "ccpa", "access", date(2026, 9, 28),
     "45 days from Mon 10 Aug = Thu 24 Sep (Chuseok eve) → Mon 28 Sep"),
    (seoul(2026, 8, 3, 9), "ccpa", "deletion", date(2026, 9, 17),
     "45 days from Mon 3 Aug = Thu 17 Sep, a working day"),
    (seoul(2026, 9, 18, 9), "gdpr", "inquiry", date(2026, 9, 28),
     "no GDPR policy for inquiries: the Korean 10 days apply (day 10 = Mon 28 Sep)"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("received", "jurisdiction", "request_type", "expected", "why"), CASES,
                         ids=[c[4][:40] for c in CASES])
def test_hand_checked_deadlines(received: datetime, jurisdiction: str, request_type: str, expected: date,
                                why: str) -> None:
    due = compute_due_at(received, policy_for(request_type, jurisdiction))
    assert due == datetime(expected.year, expected.month, expected.day, 23, 59, 59, tzinfo=SEOUL), why


def test_korean_holidays_come_from_the_package_as_expected() -> None:
    kr = holidays.country_holidays("KR", years=[2026, 2027])
    assert {date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)} <= set(kr)
    assert date(2026, 9, 28) not in kr  # Chuseok's Saturday does not make Monday a holiday
    assert {date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8), date(2027, 2, 9)} <= set(kr)
    assert date(2026, 10, 5) in kr and date(2026, 3, 2) in kr


def test_the_kept_holiday_table_is_the_packages_answer() -> None:
    """workflows/korean_holidays.py is the package's output; after upgrading ``holidays``, run
    ``python -m workflows.korean_holidays`` to refresh it."""
    for year in range(korean_holidays.FIRST, korean_holidays.LAST + 1):
        assert calendar._korean_holidays(year) == frozenset(holidays.country_holidays("KR", years=year)), year
    assert calendar._korean_holidays(2050) == frozenset(holidays.country_holidays("KR", years=2050))  # outside it


@pytest.mark.django_db
def test_business_day_policy_skips_weekends_and_chuseok() -> None:
    policy = SlaPolicy(request_type="other", jurisdiction="kr", period=10, unit=PeriodUnit.BUSINESS_DAYS)
    # Working days after Fri 18 Sep 2026: 21, 22, 23, (24–27 off), 28, 29, 30, 1, 2, (3–5 off), 6, 7.
    assert compute_due_at(seoul(2026, 9, 18, 9), policy).date() == date(2026, 10, 7)


@pytest.mark.django_db
def test_company_closure_day_is_not_a_working_day() -> None:
    ClosureDay.objects.create(date=date(2026, 9, 21), reason="창립기념일 / Foundation day")
    due = compute_due_at(datetime(2026, 9, 11, 14, 30, tzinfo=UTC), policy_for("access"))
    assert due.date() == date(2026, 9, 22)


def test_working_days_between_and_month_clamp() -> None:
    calendar = LegalCalendar()
    assert calendar.working_days_between(date(2026, 9, 23), date(2026, 9, 28)) == 1
    assert calendar.add_months(date(2026, 3, 31), 2) == date(2026, 6, 1)  # 31 May is a Sunday


def test_ticket_received_friday_evening_through_the_service(ticket_at: Any) -> None:
    ticket: Ticket = ticket_at(datetime(2026, 9, 11, 14, 30, tzinfo=UTC))
    assert ticket.received_at == datetime(2026, 9, 11, 14, 30, tzinfo=UTC)
    assert ticket.due_at == seoul(2026, 9, 21, 23, 59, 59)
    assert ticket.due_at.astimezone(UTC) == datetime(2026, 9, 21, 14, 59, 59, tzinfo=UTC)
