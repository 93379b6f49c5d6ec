"""Fixtures for the statutory notices: a ticket at a Seoul moment, and a PDF's text."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.core import mail

from helpdesk.models import Ticket
from tests.deadlines.conftest import seoul

__all__ = ["pdf_text", "seoul"]


def pdf_text(data: bytes) -> str:
    """The text of a PDF as pdftotext (poppler-utils) extracts it: what a reader's viewer shows."""
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                            capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


@pytest.fixture
def at() -> Iterator[Callable[[datetime], Any]]:
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
def ticket_at(make_ticket: Callable[..., Ticket], at: Callable[[datetime], Any]) -> Callable[..., Ticket]:
    def make(moment: datetime, **kwargs: Any) -> Ticket:
        at(moment)
        ticket = make_ticket(**kwargs)
        mail.outbox.clear()
        return ticket

    return make
