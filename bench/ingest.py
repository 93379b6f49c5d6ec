"""Mail intake benchmark: messages per second for ``manage.py ingest_email`` in ONE process.

    python bench/ingest.py [-n 2000] [--sqlite-only | --postgres-only] [--pg-url postgres://postgres@127.0.0.1:5432]

Generates N realistic messages (half Korean, UTF-8 and EUC-KR, multipart/alternative, ~20% with a
PDF/PNG attachment, ~30% replies threading to earlier ones), then for SQLite and PostgreSQL each:
a fresh migrated database with the staff seeded, and one ``ingest_email`` process given all N
files. Prints wall-clock and CPU rates (startup included), and the pure parse rate of the same
messages (the ceiling). Production-like settings: DEBUG off, acknowledgements rendered, recorded
and delivered in-process (eager Celery) through Django's dummy mail backend.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _env(url: str, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_IMAP", "CELERY_", "REDIS_URL"))}
    env.update(DATABASE_URL=url, DESK_VAR_DIR=str(work / "var"), PRIVATE_STORAGE_ROOT=str(work / "private"),
               EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", DEBUG="0", LOG_LEVEL="WARNING",
               DESK_LOCMEM_CACHE="1", DJANGO_SETTINGS_MODULE="helpdesk.settings")
    return env


def _manage(env: dict[str, str], *args: str, stdout: int | None = subprocess.DEVNULL) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True,
                   stdout=stdout, stderr=subprocess.DEVNULL)


def run_ingest(label: str, url: str, files: list[str], work: Path) -> None:
    env = _env(url, work)
    _manage(env, "migrate", "--no-input", "--skip-checks", "-v0")
    _manage(env, "seed_staff", "--skip-checks")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "ingest_email", *files], env=env, cwd=ROOT,
                            capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{label}: ingest_email exited {result.returncode}\n{result.stderr.decode()[-2000:]}")
    lines = result.stdout.decode().splitlines()
    outcomes: dict[str, int] = {}
    for line in lines:
        outcome = line.split('"outcome": "', 1)[1].split('"', 1)[0]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{label:<11} {len(files) / wall:8.1f} msg/s wall  {len(files) / cpu:8.1f} msg/s per CPU-second  "
          f"({len(lines)} messages in {wall:.1f} s; {outcomes})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from helpdesk.intake.email.parser import parse_email
    from tests.intake_e2e.mailgen import generate

    messages = generate(args.n, run=f"bench{int(time.time())}")
    work = Path(tempfile.mkdtemp(prefix="pd-bench-"))
    files = []
    for n, raw in enumerate(messages):
        path = work / "mail" / f"{n:05d}.eml"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(raw)
        files.append(str(path))
    korean = sum(1 for m in messages if b"=?utf-8?B?" in m.split(b"Subject:", 1)[1][:20]
                 or b"=?euc-kr?" in m.split(b"Subject:", 1)[1][:20])
    print(f"{args.n} messages: {korean} Korean subjects, {sum(b'In-Reply-To' in m for m in messages)} replies, "
          f"{sum(b'Content-Disposition: attachment' in m for m in messages)} with attachments, "
          f"{sum(map(len, messages)) // args.n} bytes on average")

    started = time.perf_counter()
    for raw in messages:
        parse_email(raw)
    parse_wall = time.perf_counter() - started
    print(f"{'parse only':<11} {args.n / parse_wall:8.1f} msg/s (helpdesk.intake.email.parser, the ceiling)")

    try:
        if not args.postgres_only:
            run_ingest("SQLite", f"sqlite:///{work / 'bench.sqlite3'}", files, work / "sqlite")
        if not args.sqlite_only:
            import psycopg

            name = f"pd_intake_bench_{os.getpid()}"
            with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                run_ingest("PostgreSQL", f"{args.pg_url}/{name}", files, work / "pg")
            finally:
                with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
