"""Mail intake benchmark: messages per second for ONE ``manage.py ingest_email`` command.

    python bench/ingest.py [-n 2000] [--sqlite-only | --postgres-only] [--pg-url postgres://postgres@127.0.0.1:5432]
                           [--parallel 1,2,4] [--worker [REDIS_URL]] [--profile N]
                           [--against DIR] [--rounds N]

Generates N realistic messages (half Korean, UTF-8 and EUC-KR, multipart/alternative, ~20% with a
PDF/PNG attachment, ~30% replies threading to earlier ones), then for SQLite and PostgreSQL each:
a fresh migrated database with the staff seeded, and one ``ingest_email`` process given all N
files. Prints wall-clock and CPU rates (startup included), and the pure parse rate of the same
messages (the ceiling). Production-like settings: DEBUG off, acknowledgements rendered, recorded
and delivered in-process (eager Celery) through Django's dummy mail backend.

``--parallel 1,2,4`` (PostgreSQL): for each N, a fresh database and N ``ingest_email`` processes
started together, process k given files k, k+N, k+2N, … (as N MTA deliveries would); prints the
aggregate mails/s and checks exactly-once: every file has exactly one JSON line, the database holds
exactly one inbound message per file, one acknowledgement per ticket. Then, at the largest N, every
process is given ALL files (racing on every message): each file must be filed exactly once (one
non-duplicate line, the duplicates naming the same ticket) and stored once.

``--worker [REDIS_URL]`` (PostgreSQL): production's arrangement instead of in-process tasks: the
acknowledgements go through Redis (default db 14, flushed) to a real Celery worker started first,
which sends them while ``ingest_email`` files the mail; prints the intake rate and the time until
every acknowledgement was sent.

``--profile N``: run the ingestion (SQLite, then PostgreSQL) under cProfile and print the N most expensive functions
(cumulative), as docs/intake.md shows them.

``--against DIR --rounds N``: another version of the desk checked out in DIR (``git worktree add
DIR REV``) is run on the same files, alternating with this one run by run, and the medians of both
are printed: on a shared machine, only figures taken side by side can be compared.

Intake runs strictly in one process (issue 24 removed the parse-ahead helper); ``--against`` a
version from before still runs it with its helper, as that version ships.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgdb  # noqa: E402


def _env(url: str, work: Path) -> dict[str, str]:
    # No DJANGO_SETTINGS_MODULE: each checkout's manage.py names its own (``--against`` may be a
    # version from before the settings moved to config/).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DESK_IMAP", "CELERY_", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))}
    env.update(DATABASE_URL=url, DESK_VAR_DIR=str(work / "var"), PRIVATE_STORAGE_ROOT=str(work / "private"),
               EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", DEBUG="0", LOG_LEVEL="WARNING",
               DESK_LOCMEM_CACHE="1")
    return env


def _manage(env: dict[str, str], *args: str, stdout: int | None = subprocess.DEVNULL, root: Path = ROOT) -> None:
    subprocess.run([sys.executable, str(root / "manage.py"), *args], env=env, cwd=root, check=True,
                   stdout=stdout, stderr=subprocess.DEVNULL)


def _prepare(url: str, work: Path, root: Path = ROOT) -> dict[str, str]:
    env = _env(url, work)
    _manage(env, "migrate", "--no-input", "--skip-checks", "-v0", root=root)
    _manage(env, "seed_staff", "--skip-checks", root=root)
    return env


def run_ingest(label: str, url: str, files: list[str], work: Path, profile: int = 0, root: Path = ROOT,
               extra_env: dict[str, str] | None = None) -> tuple[float, float]:
    """One ingest_email process of ``root``'s code given all files; prints and returns (wall, CPU) msg/s.

    CPU counts the process and any children it waited for (a version's parsing helper)."""
    env = {**_prepare(url, work, root), **(extra_env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    prof = work / "ingest.prof"
    runner = ["-m", "cProfile", "-o", str(prof)] if profile else []
    result = subprocess.run([sys.executable, *runner, str(root / "manage.py"), "ingest_email", *files], env=env,
                            cwd=root, capture_output=True, check=False)
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
    if profile:
        import pstats

        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(profile)
    return len(files) / wall, len(files) / cpu


def _results(stdout: bytes) -> list[dict[str, str | None]]:
    return [json.loads(line) for line in stdout.decode().splitlines()]


def _start(env: dict[str, str], files: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "ingest_email", *files], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stored(url: str) -> tuple[int, int, int, int]:
    """(inbound messages, distinct dedupe keys, tickets, acknowledgements) in the benchmark database.

    Acknowledgements: tickets with exactly one (a sender over the hourly limit gets none, never two).
    """
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM helpdesk_message WHERE direction = 'inbound'),"
            " (SELECT count(DISTINCT dedupe_key) FROM helpdesk_message WHERE direction = 'inbound'),"
            " (SELECT count(*) FROM helpdesk_ticket),"
            " (SELECT count(*) FROM (SELECT ticket_id FROM helpdesk_message WHERE kind = 'acknowledgement'"
            "  GROUP BY ticket_id HAVING count(*) = 1) AS once)"
            " - (SELECT count(*) FROM (SELECT ticket_id FROM helpdesk_message WHERE kind = 'acknowledgement'"
            "  GROUP BY ticket_id HAVING count(*) > 1) AS twice)").fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def run_with_worker(pg_url: str, redis_url: str, files: list[str], work: Path) -> None:
    """PostgreSQL as in production: acknowledgements go to a Redis broker and a real Celery worker
    (one process, started first) sends them while ``ingest_email`` files the mail. Prints the
    intake rate (the ingest_email process) and the rate until every acknowledgement was sent."""
    import psycopg
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with _database(pg_url) as url:
        env = {**_prepare(url, work / "worker"), "CELERY_BROKER_URL": redis_url}
        log = (work / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-heartbeat", "--without-gossip", "--without-mingle",
             "--hostname", f"bench-{os.getpid()}@localhost"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while b"ready." not in (work / "worker.log").read_bytes():
                if worker.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the Celery worker did not start:\n{(work / 'worker.log').read_text()[-2000:]}")
                time.sleep(0.2)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "ingest_email", *files], env=env,
                                    cwd=ROOT, capture_output=True, check=False)
            intake = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if result.returncode != 0:
                sys.exit(f"ingest_email exited {result.returncode}\n{result.stderr.decode()[-2000:]}")
            with psycopg.connect(url, autocommit=True) as conn:
                while True:
                    row = conn.execute("SELECT count(*) FILTER (WHERE delivery_status = 'pending'), count(*) "
                                       "FROM helpdesk_message WHERE kind = 'acknowledgement'").fetchone()
                    assert row is not None
                    if row[0] == 0 or time.perf_counter() - started > 600:
                        break
                    time.sleep(0.05)
            delivered = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(30)
            log.close()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"PostgreSQL + Redis + worker: intake {len(files) / intake:7.1f} msg/s wall "
              f"({len(files) / cpu:.1f} per CPU-second of ingest_email; {intake:.1f} s), every acknowledgement "
              f"sent after {delivered:.1f} s ({len(files) / delivered:.1f} msg/s end to end; "
              f"{row[1] - row[0]} of {row[1]} sent)", flush=True)


def run_parallel(pg_url: str, counts: list[int], files: list[str], work: Path) -> None:
    """N ingest_email processes at once on PostgreSQL: aggregate mails/s, then the exactly-once checks."""
    for n in counts:
        with _database(pg_url) as url:
            env = _prepare(url, work / f"par{n}")
            shards = [files[k::n] for k in range(n)]
            started = time.perf_counter()
            procs = [_start(env, shard) for shard in shards]
            outputs = [proc.communicate() for proc in procs]
            wall = time.perf_counter() - started
            for proc, (_, err) in zip(procs, outputs, strict=True):
                if proc.returncode != 0:
                    sys.exit(f"{n} processes: ingest_email exited {proc.returncode}\n{err.decode()[-2000:]}")
            results = [r for out, _ in outputs for r in _results(out)]
            sources = Counter(r["source"] for r in results)
            inbound, keys, tickets, acks = _stored(url)
            once = (sorted(sources) == sorted(files) and set(sources.values()) == {1} and inbound == keys == len(files)
                    and tickets == sum(r["outcome"] == "new_ticket" for r in results) and 0 < acks <= tickets)
            rollbacks = sum(err.count(b"rolled back") for _, err in outputs)
            print(f"PostgreSQL, {n} process{'es' if n > 1 else '  '} {len(files) / wall:8.1f} msg/s wall "
                  f"({wall:.1f} s; {dict(Counter(r['outcome'] for r in results))}); exactly once: "
                  f"{'yes' if once else 'NO'} ({inbound} inbound messages, {tickets} tickets, "
                  f"{acks} acknowledged once, {rollbacks} batches refiled one at a time)", flush=True)
            if not once:
                sys.exit("exactly-once check failed")
    n = max(counts)
    if n < 2:
        return
    with _database(pg_url) as url:
        env = _prepare(url, work / "race")
        started = time.perf_counter()
        procs = [_start(env, files) for _ in range(n)]
        outputs = [proc.communicate() for proc in procs]
        wall = time.perf_counter() - started
        if any(proc.returncode != 0 for proc in procs):
            sys.exit(f"racing processes failed: {[p.returncode for p in procs]}")
        per_file: dict[str, list[dict[str, str | None]]] = {}
        for out, _ in outputs:
            for r in _results(out):
                per_file.setdefault(str(r["source"]), []).append(r)
        filed = [[r for r in rs if r["outcome"] != "duplicate"] for rs in per_file.values()]
        same_ticket = all(len({r["ticket"] for r in rs}) == 1 for rs in per_file.values())
        inbound, keys, tickets, acks = _stored(url)
        once = (len(per_file) == len(files) and all(len(rs) == n for rs in per_file.values())
                and all(len(f) == 1 for f in filed) and same_ticket and inbound == keys == len(files)
                and 0 < acks <= tickets)
        print(f"PostgreSQL, {n} processes racing on all {len(files)} files: {n * len(files) / wall:8.1f} lines/s "
              f"({wall:.1f} s); each file filed exactly once: {'yes' if once else 'NO'} "
              f"({inbound} inbound messages, {tickets} tickets, {acks} acknowledged once)", flush=True)
        if not once:
            sys.exit("exactly-once check failed")


@contextlib.contextmanager
def _database(pg_url: str) -> Iterator[str]:
    """A throw-away database on ``pg_url``'s server (bench/pgdb.py, shared by every benchmark)."""
    name = f"pd_intake_bench_{os.getpid()}"
    pgdb.recreate_database(name, server=pg_url)
    try:
        yield f"{pg_url}/{name}"
    finally:
        pgdb.drop_database(name, server=pg_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--parallel", default="", help="e.g. 1,2,4: N concurrent processes on PostgreSQL")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N of a cProfile run")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="a checkout of another version (git worktree add DIR REV): run both, alternating")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each version (with --against)")
    parser.add_argument("--worker", nargs="?", const="redis://127.0.0.1:6379/14", metavar="REDIS_URL",
                        help="also PostgreSQL as in production: a Redis broker and a Celery worker send the mail")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
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

    print(f"machine: {os.cpu_count()} CPUs, load average {_load()} at the start")
    os.sync()  # written-back inode tables: ext4 then skips recently deleted inodes for 1 minute, not 6
    file_us = _file_creation_us(work)
    print(f"new files here: {file_us:.0f} µs each (intake stores one or two per mail)"
          + ("  SLOW: something deleted many files minutes ago; figures will be lower" if file_us > 150 else ""))
    for root in {ROOT, *([args.against.resolve()] if args.against else [])}:
        _compile_bytecode(root)
    try:
        if args.against:
            compare(args, files, work)
            return
        if not args.postgres_only:
            run_ingest("SQLite", f"sqlite:///{work / 'bench.sqlite3'}", files, work / "sqlite", args.profile)
        if not args.sqlite_only:
            with _database(args.pg_url) as url:
                run_ingest("PostgreSQL", url, files, work / "pg", args.profile)
            if args.worker:
                run_with_worker(args.pg_url, args.worker, files, work)
            if args.parallel:
                run_parallel(args.pg_url, [int(n) for n in args.parallel.split(",")], files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()} at the end")


def compare(args: argparse.Namespace, files: list[str], work: Path) -> None:
    """This checkout and ``--against``, alternating run by run on the same files, then the medians:
    on a shared machine only figures taken side by side can be compared."""
    versions: dict[str, tuple[Path, dict[str, str]]] = {"this": (ROOT, {})}
    if args.against:
        versions["against"] = (args.against.resolve(), {})
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    kinds = [k for k, skip in (("SQLite", args.postgres_only), ("PostgreSQL", args.sqlite_only)) if not skip]
    for round_ in range(args.rounds):
        for kind in kinds:
            for name, (root, extra_env) in versions.items():
                label = f"{kind} {name}"
                place = work / f"{kind}-{name}-{round_}"
                if kind == "SQLite":
                    figure = run_ingest(label, f"sqlite:///{place}.sqlite3", files, place, root=root,
                                        extra_env=extra_env)
                else:
                    with _database(args.pg_url) as url:
                        figure = run_ingest(label, url, files, place, root=root, extra_env=extra_env)
                figures.setdefault((kind, name), []).append(figure)
                print(f"    load average {_load()}", flush=True)
    for (kind, name), runs in figures.items():
        print(f"median {kind:<10} {name:<8} {statistics.median(w for w, _ in runs):7.1f} msg/s wall  "
              f"{statistics.median(c for _, c in runs):7.1f} msg/s per CPU-second  ({len(runs)} runs)")


def _compile_bytecode(root: Path) -> None:
    """Compile the desk's modules first, as a deployment does: where PYTHONDONTWRITEBYTECODE is set
    (this machine sets it), every process would otherwise compile them again at start (~0.1 s)."""
    packages = [root / name for name in ("config", "helpdesk", "workflows", "notifications") if (root / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, packages)], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})


def _file_creation_us(work: Path, count: int = 300) -> float:
    """What creating a small file costs here: on a file system without a journal, ext4 scans past
    recently deleted inodes (any large ``rm -r`` in the last minutes) and a create can take 20× as
    long; figures taken right after such a deletion are lower by up to a third."""
    probe = work / "probe"
    probe.mkdir()
    started = time.perf_counter()
    for n in range(count):
        (probe / f"{n:04d}").write_bytes(b"x" * 1400)
    return (time.perf_counter() - started) / count * 1e6


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
