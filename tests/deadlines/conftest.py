"""Fixtures for the deadline tests: moments in Seoul, a sweep that runs its after-commit sends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from helpdesk.models import Ticket
from notifications.reminders import SweepResult, run_sweep

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _own_redis_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """This area's Redis DB (3) for the real worker, unless CI chose one."""
    if not os.environ.get("DESK_TEST_REDIS_URL"):
        monkeypatch.setenv("DESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


@pytest.fixture
def at() -> Iterator[Callable[[datetime], Any]]:
    """Move the clock (time_machine, never sleep): ``at(seoul(2026, 9, 18, 9))``."""
    travellers: list[Any] = []

    def travel(moment: datetime) -> None:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield travel
    while travellers:
        travellers.pop().stop()


@pytest.fixture
def sweep(django_capture_on_commit_callbacks: Any) -> Callable[..., SweepResult]:
    """Run one sweep like beat does, delivering its mail (eager Celery) after the commit."""

    def run(**kwargs: Any) -> SweepResult:
        with django_capture_on_commit_callbacks(execute=True):
            return run_sweep(**kwargs)

    return run


@pytest.fixture
def ticket_at(make_ticket: Callable[..., Ticket], at: Callable[[datetime], Any]) -> Callable[..., Ticket]:
    """A ticket received at a given Seoul moment (through the real service), outbox cleared."""

    def make(moment: datetime, **kwargs: Any) -> Ticket:
        at(moment)
        ticket = make_ticket(**kwargs)
        mail.outbox.clear()
        return ticket

    return make
