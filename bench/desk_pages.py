"""Desk page speed on a big database: the queue pages, their search and a ticket page.

Creates (and afterwards drops) the PostgreSQL database ``pd_bench_desk`` (or ``$BENCH_DESK_DB``), bulk-loads 100,000
tickets with about five messages each, then requests each page 50 times with Django's test client
and prints the median time and the query count of every page.

Usage: python bench/desk_pages.py [--tickets 100000] [--requests 50] [--keep] [--reuse]
       (PostgreSQL at BENCH_PG, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402

DB_NAME = os.environ.get("BENCH_DESK_DB", "pd_bench_desk")


def load(n_tickets: int) -> dict[str, Any]:
    """Bulk rows straight into the tables: this is test data, not a desk workflow."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from helpdesk.models import Direction, Message, MessageKind, Requester, Ticket, User
    from workflows.request_types import RequestType
    from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP
    from workflows.states import TicketState

    admins = []
    for username in ("moonwon.park", "hyojoon.shim"):
        user = User.objects.create_user(username=username, password="x-Very-long-password-1",
                                        display_name=username.replace(".", " ").title())
        user.groups.add(Group.objects.get(name=ADMINISTRATOR_GROUP))
        admins.append(user)
    manager = User.objects.create_user(username="manager", password="x-Very-long-password-1")
    manager.groups.add(Group.objects.get(name=MANAGER_GROUP))

    rng = random.Random(6)
    now = timezone.now()
    requesters = Requester.objects.bulk_create(
        [Requester(email=f"person{i}@example.com", name=f"요청자 {i}") for i in range(n_tickets // 2)],
        batch_size=5000)
    types = list(RequestType.values)
    open_states = [TicketState.RECEIVED, TicketState.VERIFIED, TicketState.PROCESSED, TicketState.AWAITING_REQUESTER]
    batch = 5000
    t0 = time.perf_counter()
    for start in range(0, n_tickets, batch):
        tickets = []
        for i in range(start, min(start + batch, n_tickets)):
            received = now - timedelta(days=rng.uniform(0, 1000))
            is_open = i >= n_tickets - n_tickets // 20  # the newest 5% are still open
            if is_open:
                received = now - timedelta(days=rng.uniform(0, 12))
            state = rng.choice(open_states) if is_open else TicketState.RESPONDED
            tickets.append(Ticket(
                reference=f"PRIV-2025-{i + 1:06d}", request_type=rng.choice(types), subject=f"개인정보 요청 {i}",
                requester=requesters[i % len(requesters)], assignee=rng.choice([*admins, None]) if is_open
                else rng.choice(admins), channel=rng.choice(["email", "web"]), received_at=received,
                due_at=received + timedelta(days=10), state=state,
                closed_at=None if is_open else received + timedelta(days=5),
                responded_at=None if is_open else received + timedelta(days=5),
            ))
        created = Ticket.objects.bulk_create(tickets, batch_size=batch)
        messages = []
        for ticket in created:
            for j in range(5):
                direction = Direction.INBOUND if j % 2 == 0 else Direction.OUTBOUND
                messages.append(Message(
                    ticket=ticket, direction=direction,
                    kind=MessageKind.MAIL if direction == Direction.INBOUND else MessageKind.REPLY,
                    sender=ticket.requester.email if direction == Direction.INBOUND else "micube@micube.co.kr",
                    subject=ticket.subject,
                    body_text=f"안녕하세요. 제 개인정보 열람을 요청합니다. 주문번호 A{ticket.pk}-{j}. " * 8,
                    sent_at=ticket.received_at + timedelta(hours=j),
                ))
        Message.objects.bulk_create(messages, batch_size=batch)
        print(f"  loaded {start + len(tickets):>7} tickets ({time.perf_counter() - t0:.0f} s)", flush=True)
    pgdb.vacuum_analyze()  # what autovacuum would have done on a live desk
    sample = (Ticket.objects.filter(assignee=admins[0], state__in=open_states).order_by("due_at").first())
    assert sample is not None
    return {"admin": admins[0], "manager": manager, "ticket": sample}


def existing() -> dict[str, Any]:
    from helpdesk.models import Ticket, User
    from workflows.states import OPEN_STATES

    admin = User.objects.get(username="moonwon.park")
    ticket = Ticket.objects.filter(assignee=admin, state__in=OPEN_STATES).order_by("due_at").first()
    return {"admin": admin, "manager": User.objects.get(username="manager"), "ticket": ticket}


def measure(client: Any, url: str, requests: int) -> tuple[float, list[int]]:
    # The warm-up request also takes the ticket page's once-per-10-minutes access log.
    result = pgdb.time_get(client, url, requests)
    return result["median_ms"], result["queries"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep (no loading)")
    args = parser.parse_args()
    with pgdb.database(DB_NAME, reuse=args.reuse, keep=args.keep):
        if args.reuse:
            data = existing()
        else:
            print(f"Loading {args.tickets} tickets × 5 messages into {DB_NAME} …", flush=True)
            data = load(args.tickets)
        from django.test import Client
        from django.urls import reverse

        from helpdesk.models import Message, Ticket

        print(f"tickets={Ticket.objects.count()} messages={Message.objects.count()}")
        pages = [
            ("queue: administrator, My open tickets", data["admin"], reverse("desk:queue")),
            ("queue: manager, All (100k)", data["manager"], reverse("desk:queue")),
            ("queue: manager, Due within 3 days", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "due-soon"})),
            ("queue: manager, All, page 200", data["manager"], reverse("desk:queue") + "?page=200"),
            ("queue: manager, search a word in one ticket", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "all"}) + f"?search=A{data['ticket'].pk}"),
            ("queue: manager, search a requester's address", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "all"}) + f"?search={data['ticket'].requester.email}"),
            ("queue: manager, search part of a name (22)", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "all"}) + "?search=요청자 777"),
            ("queue: manager, search a domain (every ticket)", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "all"}) + "?search=example.com"),
            ("queue: manager, search a word (every ticket)", data["manager"],
             reverse("desk:queue_named", kwargs={"slug": "all"}) + "?search=열람"),
            ("ticket page: administrator", data["admin"], reverse("desk:ticket", args=[data["ticket"].reference])),
            ("ticket page: manager", data["manager"], reverse("desk:ticket", args=[data["ticket"].reference])),
        ]
        print(f"\n{'page':<45} {'median ms':>10} {'queries':>8}")
        for label, user, url in pages:
            client = Client()
            client.force_login(user)
            median, counts = measure(client, url, args.requests)
            print(f"{label:<45} {median:>10.1f} {','.join(map(str, counts)):>8}", flush=True)
        print(pgdb.load_average())


if __name__ == "__main__":
    main()
