"""How long one Contact Us submission holds the shared reference-counter lock (issue 31).

Usage::

    python bench/lock_hold.py [-n 60] [--against DIR]

The counter row (and, on this branch, the administrators' rows with it) serialises every
submission, so 1 / (the time it is held) caps throughput on any number of cores. For each tree,
in a fresh PostgreSQL database, ``n`` submissions go through ``helpdesk.public.services.submit_request``
one after another (a fifth with a 200 KB PDF, as in ``bench/surge.py``); printed: median and p95 of
the time from the counter's ``UPDATE`` to the end of COMMIT, of the whole submission, and the cap
that the median implies. One process, no concurrency: far less sensitive to a busy machine than
the surge, so two trees compare side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("SURGE_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SURGE_REDIS", "redis://127.0.0.1:6379/13")  # FLUSHED after each tree


def child(n: int, db: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from helpdesk import services
    from helpdesk.public import services as public

    call_command("migrate", verbosity=0)
    call_command("seed_staff", stdout=open(os.devnull, "w"))  # noqa: SIM115
    pdf = b"%PDF-1.4\n" + os.urandom(200 * 1024) + b"\n%%EOF\n"
    marks: dict[str, float] = {}

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "helpdesk_ticketcounter" in sql and sql.lstrip().upper().startswith("UPDATE") and "lock" not in marks:
            marks["lock"] = time.perf_counter()
        return execute(sql, params, many, context)

    connection.ensure_connection()
    real_commit = connection._commit

    def commit() -> None:
        real_commit()
        marks.setdefault("commit", time.perf_counter())

    connection._commit = commit  # type: ignore[method-assign]
    held, whole = [], []
    with connection.execute_wrapper(wrapper):
        for i in range(n + 5):
            marks.clear()
            attachments = [services.NewAttachment("proof.pdf", "application/pdf", pdf)] if i % 5 == 0 else []
            started = time.perf_counter()
            public.submit_request(request=public.ContactRequest(
                request_type="access", name=f"Requester {i}", email=f"hold{i}@example.org", language="en",
                description=f"After the breach I want to see what you hold about me. {i}"), attachments=attachments)
            if i >= 5:  # the first few warm the caches
                held.append(marks["commit"] - marks["lock"])
                whole.append(marks["commit"] - started)
    print(json.dumps({"held": held, "whole": whole}))


def run(tree: Path, n: int, tag: str) -> dict[str, list[float]]:
    import psycopg

    db = f"pd_lockhold_{tag}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {db}")  # type: ignore[arg-type]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DESK_", "PYTEST", "CELERY"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"{PG}/{db}", "PYTHONPATH": str(tree),
                "DESK_STAFF_PASSWORD": secrets.token_hex(8), "CELERY_BROKER_URL": REDIS,  # queued, never run here
                "DESK_VAR_DIR": f"/tmp/{db}", "PRIVATE_STORAGE_ROOT": f"/tmp/{db}/private", "LOG_LEVEL": "WARNING"})
    try:
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "-n", str(n), "--db", db],
                             cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.n, args.db)
        return
    trees = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    for name, tree in trees.items():
        figures = run(tree, args.n, name)
        held, whole = sorted(figures["held"]), sorted(figures["whole"])
        p = lambda values, q: 1000 * values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        print(f"{name:8} {tree}: counter held median {p(held, .5):.1f} ms, p95 {p(held, .95):.1f} ms "
              f"(cap ≈ {1000 / p(held, .5):.0f}/s); whole submission median {p(whole, .5):.1f} ms, "
              f"p95 {p(whole, .95):.1f} ms; load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
