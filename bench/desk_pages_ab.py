"""Desk pages, this tree against another, interleaved: the fairest comparison on a busy machine.

Needs the database a ``bench/desk_pages.py --keep`` run left (``pd_bench_desk`` or
``$BENCH_DESK_DB``). Starts one long-lived process per tree (each imports its own code), warms
every page up, then has them take turns: 5 requests of one page in one, 5 in the other (the
order flips every block), ``--blocks`` times over every page. Background load hits both alike.
Prints the median and 90th percentile of each page for both, their query counts and the 1-minute
load average during the run. The other tree is typically ``git worktree add /tmp/before <commit>``
(or ``git archive <commit> | tar -x -C DIR``); it must have the same migrations applied.

Usage: python bench/desk_pages_ab.py --against DIR [--blocks 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
PER_BLOCK = 5
PAGES = ("queue: administrator, My open tickets", "queue: administrator, All", "queue: manager, All (100k)",
         "queue: manager, Due within 3 days", "queue: manager, All, page 200", "ticket page: administrator",
         "ticket page: manager")


def worker(root: Path) -> None:
    """Serve "page index" lines on stdin: GET it PER_BLOCK times, print the times and query count."""
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root / "bench"))
    import warnings

    import pgdb

    warnings.simplefilter("ignore")
    pgdb.setup_django(os.environ.get("BENCH_DESK_DB", "pd_bench_desk"))
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from helpdesk.models import Ticket, User
    from workflows.states import OPEN_STATES

    admin = User.objects.get(username="moonwon.park")
    manager = User.objects.get(username="manager")
    ticket = Ticket.objects.filter(assignee=admin, state__in=OPEN_STATES).order_by("due_at").first()
    assert ticket is not None
    urls = [(admin, reverse("desk:queue")), (admin, reverse("desk:queue_named", kwargs={"slug": "all"})),
            (manager, reverse("desk:queue")), (manager, reverse("desk:queue_named", kwargs={"slug": "due-soon"})),
            (manager, reverse("desk:queue") + "?page=200"), (admin, reverse("desk:ticket", args=[ticket.reference])),
            (manager, reverse("desk:ticket", args=[ticket.reference]))]
    clients = []
    for user, url in urls:
        client = Client()
        client.force_login(user)
        client.get(url)  # warm-up; the ticket page also writes its once-per-10-minutes access log
        clients.append(client)
    print("ready", flush=True)
    for line in sys.stdin:
        index = int(line)
        times = []
        for _ in range(PER_BLOCK):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = clients[index].get(urls[index][1])
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (urls[index][1], response.status_code)
        print(len(queries), *(f"{t:.3f}" for t in times), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, required=True, help="the other source tree (e.g. the version before)")
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    trees = {"this": ROOT, "against": args.against.resolve()}
    procs: dict[str, Any] = {
        name: subprocess.Popen([sys.executable, str(HERE), "--against", str(tree), "--worker", str(tree)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for name, tree in trees.items()}
    for proc in procs.values():
        assert proc.stdout.readline().strip() == "ready"
    times: dict[tuple[str, int], list[float]] = {(name, i): [] for name in procs for i in range(len(PAGES))}
    queries: dict[tuple[str, int], set[int]] = {key: set() for key in times}
    loads = [os.getloadavg()[0]]
    for block in range(args.blocks):
        for i in range(len(PAGES)):
            for name in (("this", "against") if block % 2 == 0 else ("against", "this")):
                procs[name].stdin.write(f"{i}\n")
                procs[name].stdin.flush()
                count, *values = procs[name].stdout.readline().split()
                queries[(name, i)].add(int(count))
                times[(name, i)] += [float(v) for v in values]
        loads.append(os.getloadavg()[0])
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()

    def p90(values: list[float]) -> float:
        return sorted(values)[int(0.9 * len(values))]

    print(f"this tree: {ROOT}\nagainst:   {trees['against']}\n{args.blocks * PER_BLOCK} requests per page and tree, "
          f"in turns of {PER_BLOCK}")
    print(f"\n{'page':<40} {'against: median / p90 ms':>26} {'this: median / p90 ms':>23}  queries")
    def counts(name: str, i: int) -> str:
        return ",".join(map(str, sorted(queries[(name, i)])))

    for i, label in enumerate(PAGES):
        a, t = times[("against", i)], times[("this", i)]
        print(f"{label:<40} {statistics.median(a):>13.1f} / {p90(a):>6.1f} "
              f"{statistics.median(t):>14.1f} / {p90(t):>6.1f}  {counts('against', i)} → {counts('this', i)}")
    print(f"\n1-minute load average during the run {min(loads):.2f}–{max(loads):.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
