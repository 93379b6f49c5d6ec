"""Fixtures for the API, metrics, dashboard and export tests: a fixed, hand-computable data set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from helpdesk.models import Channel, Ticket, User
from workflows.states import TicketState as S

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=KST)


def kst(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KST)


def end_of(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 23, 59, 59, tzinfo=KST)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Argon2 makes every staff fixture cost half a second; these tests are not about hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class DataSet:
    tickets: dict[str, Ticket]
    a: User  # moonwon.park
    b: User  # hyojoon.shim
    manager: User


@pytest.fixture
def dataset(make_ticket: Callable[..., Ticket], admin_user: User, other_admin: User, manager: User) -> DataSet:
    """Nine tickets with explicit timestamps (KST). Period under test: 2026-03-01 .. 2026-03-15; now 03-20 12:00.

    The expected figures in test_metrics.py are worked out by hand from this table.
    """
    a, b = admin_user, other_admin
    spec: dict[str, dict[str, Any]] = {
        # name: request type, channel, assignee, state, received, due, first response, responded, paused s
        "T1": dict(request_type="access", channel=Channel.WEB, assignee=a, state=S.RESPONDED,
                   received_at=kst(3, 2, 9), due_at=end_of(3, 12), first_response_at=kst(3, 2, 15),
                   responded_at=kst(3, 5, 9), paused_seconds=0),
        "T2": dict(request_type="deletion", channel=Channel.EMAIL, assignee=a, state=S.RESPONDED,
                   received_at=kst(3, 3, 10), due_at=end_of(3, 13), first_response_at=kst(3, 4, 10),
                   responded_at=kst(3, 16, 10), paused_seconds=86400),
        "T3": dict(request_type="access", channel=Channel.WEB, assignee=b, state=S.REJECTED,
                   received_at=kst(3, 5, 8), due_at=end_of(3, 15), first_response_at=kst(3, 8, 8),
                   responded_at=kst(3, 10, 8), paused_seconds=43200),
        "T4": dict(request_type="complaint", channel=Channel.EMAIL, assignee=b, state=S.PROCESSED,
                   received_at=kst(3, 6, 12), due_at=end_of(3, 16), first_response_at=kst(3, 6, 14),
                   responded_at=None, paused_seconds=0),
        # Monday 07:00 in Seoul is still Sunday in UTC: the weekly trend must bucket it by local week.
        "T5": dict(request_type="access", channel=Channel.STAFF, assignee=None, state=S.RECEIVED,
                   received_at=kst(3, 9, 7), due_at=end_of(3, 25), first_response_at=None,
                   responded_at=None, paused_seconds=0),
        "T6": dict(request_type="inquiry", channel=Channel.WEB, assignee=a, state=S.WITHDRAWN,
                   received_at=kst(3, 12, 9), due_at=end_of(3, 22), first_response_at=None,
                   responded_at=None, paused_seconds=0),
        # Before the period: in the backlog and the administrator's load, not in the cohort.
        "T7": dict(request_type="access", channel=Channel.WEB, assignee=a, state=S.VERIFIED,
                   received_at=kst(2, 27, 9), due_at=end_of(3, 9), first_response_at=None,
                   responded_at=None, paused_seconds=0),
        # Last evening of the period in Seoul (14:30 UTC): inside.
        "T8": dict(request_type="access", channel=Channel.WEB, assignee=a, state=S.RESPONDED,
                   received_at=kst(3, 15, 23, 30), due_at=end_of(3, 25), first_response_at=kst(3, 16, 1, 30),
                   responded_at=kst(3, 16, 11, 30), paused_seconds=0),
        # Just after midnight on 03-16 in Seoul (still 03-15 in UTC): outside the period.
        "T9": dict(request_type="access", channel=Channel.WEB, assignee=b, state=S.VERIFIED,
                   received_at=kst(3, 16, 0, 30), due_at=end_of(3, 26), first_response_at=None,
                   responded_at=None, paused_seconds=0),
    }
    tickets: dict[str, Ticket] = {}
    for i, (name, fields) in enumerate(spec.items()):
        ticket = make_ticket(email=f"person{i}@example.com", subject=f"{name} 요청",
                             request_type=fields["request_type"], channel=fields["channel"])
        closed = fields["responded_at"] if fields["state"] in (S.RESPONDED, S.REJECTED) else None
        if fields["state"] == S.WITHDRAWN:
            closed = fields["received_at"]
        # Direct updates (test setup only): the services stamp "now", the data set needs fixed times.
        Ticket.objects.filter(pk=ticket.pk).update(closed_at=closed, **fields)
        ticket.refresh_from_db()
        tickets[name] = ticket
    return DataSet(tickets=tickets, a=a, b=b, manager=manager)


def token_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_client() -> Callable[[User | None], APIClient]:
    return token_client
