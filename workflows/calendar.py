"""The legal calendar in the desk's time zone.

Korean Civil Act: the day of receipt is not counted (Art. 157) and a period whose last day is a
Saturday, Sunday or public holiday ends on the next working day (Art. 161). Korean public
holidays (lunar and substitute ones included) come from the ``holidays`` package; company
closure days come from :class:`workflows.models.ClosureDay`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from workflows import korean_holidays
from workflows.models import ClosureDay

END_OF_DAY = time(23, 59, 59)


def desk_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@lru_cache(maxsize=64)
def _korean_holidays(year: int) -> frozenset[date]:
    known = korean_holidays.HOLIDAYS.get(year)
    if known is not None:  # the package's own answer, kept as data (loading it costs ~0.15 s)
        return frozenset(date(year, int(day[:2]), int(day[2:])) for day in known.split())
    import holidays

    return frozenset(holidays.country_holidays("KR", years=year).keys())


class LegalCalendar:
    """Working days: Monday–Friday that are neither Korean public holidays nor closure days."""

    def __init__(self, closure_days: Iterable[date] = ()) -> None:
        self.closure_days = frozenset(closure_days)

    @classmethod
    def from_db(cls) -> LegalCalendar:
        return cls(ClosureDay.objects.values_list("date", flat=True))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _korean_holidays(day.year) and day not in self.closure_days

    def next_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_calendar_days(self, start: date, days: int) -> date:
        """Last day of a period of ``days`` days counted from the day after ``start``."""
        return self.next_working_day(start + timedelta(days=days))

    def add_business_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (always a working day itself)."""
        if days <= 0:
            return self.next_working_day(start)
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def add_months(self, start: date, months: int) -> date:
        """GDPR-style month: the same day number ``months`` later, clamped to the month's end.

        Received 31 January → 28/29 February; then rolled to a working day like any period.
        """
        month_index = start.month - 1 + months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return self.next_working_day(date(year, month, day))

    def add_period(self, start: date, amount: int, unit: str) -> date:
        if unit == "business_days":
            return self.add_business_days(start, amount)
        if unit == "months":
            return self.add_months(start, amount)
        return self.add_calendar_days(start, amount)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (negative when end is before start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment, desk_tz()).date()


def end_of_day(day: date) -> datetime:
    """The last moment (23:59:59) of ``day`` in the desk's time zone."""
    return datetime.combine(day, END_OF_DAY, tzinfo=desk_tz())


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the desk's time zone."""
    return datetime.combine(day, time(0, 0), tzinfo=desk_tz())


def iso_local(moment: datetime) -> str:
    """ISO 8601 in the desk's time zone, as the history shows it (``2026-09-28T23:59:59+09:00``)."""
    return timezone.localtime(moment, desk_tz()).isoformat()
