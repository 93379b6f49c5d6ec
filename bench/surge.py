"""A breach-day surge on the Contact Us form while two administrators work the desk (issue 31).

Usage (one command; loopback only; every level stops by itself)::

    python bench/surge.py [--levels 5,25,50] [--seconds 15] [--against DIR] [--pdf-share 0.2]

The stack, per tree (this one, and ``--against DIR``'s, side by side under the same load): production
settings (``DESK_ENV=production``), gunicorn with 5 sync workers from the tree's own
``deploy/gunicorn.conf.py`` (plus, where that config has it, the staff's own pool, as the deploy
docs run it), PostgreSQL (a fresh database per tree), Redis as broker and cache, one Celery worker,
and an aiosmtpd sink that really receives the mail. Each simulated requester is a new person: its
own address through the trusted proxy header (``X-Real-IP``, ``RATELIMIT_IP_META_KEY``; the rate
limits stay on), its own e-mail address, the form loaded (GET) and posted; 20 % attach a 200 KB PDF.
Meanwhile two administrators, signed in, load their queue and a ticket page in turn.

Printed per concurrency level: accepted submissions per second, POST p50/p95, the desk pages' p95
during the surge, how long after the level's last submission the last acknowledgement reached the
sink, and counts in = counts out (accepted submissions = web tickets = acknowledgements received,
each exactly once). Never a timing assert: figures only (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "surge-" + secrets.token_hex(8)
ADMINS = ("moonwon.park", "hyojoon.shim")
HOST = "127.0.0.1"  # the Host header; ALLOWED_HOSTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- The SMTP sink ---------------------------------------------------------------------------
class Sink:
    """aiosmtpd on loopback; remembers each acknowledgement's Message-ID and when it arrived."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.acks: Counter[str] = Counter()
        self.last_ack_at = 0.0
        self.other = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                mail = message_from_bytes(envelope.content, policy=policy.default)
                with sink._lock:
                    if "Request received" in str(mail.get("Subject", "")):
                        sink.acks[str(mail.get("Message-ID", "")).strip().strip("<>")] += 1
                        sink.last_ack_at = time.monotonic()
                    else:
                        sink.other += 1
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def snapshot(self) -> tuple[Counter[str], float]:
        with self._lock:
            return Counter(self.acks), self.last_ack_at


# --- One tree's stack --------------------------------------------------------------------------
@dataclass
class Stack:
    tree: Path
    tag: str
    pg: str
    redis: str
    web_workers: int
    sink: Sink
    python: str = sys.executable
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    public_port: int = 0
    staff_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    var: Path = Path()

    @property
    def db_name(self) -> str:
        return f"pd_surge_{self.tag}"

    def psql(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with psycopg.connect(f"{self.pg}/{dbname}", autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def start(self) -> None:
        self.var = Path(tempfile.mkdtemp(prefix=f"surge-{self.tag}-"))
        self.psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {self.db_name}")
        import redis

        redis.Redis.from_url(self.redis).flushdb()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DESK_", "PYTEST", "GUNICORN"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings", "DESK_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": HOST, "DESK_BASE_URL": f"https://{HOST}",
            "DATABASE_URL": f"{self.pg}/{self.db_name}", "DB_CONN_MAX_AGE": "60",
            "REDIS_URL": self.redis, "CELERY_BROKER_URL": self.redis,
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.sink.port),
            "DESK_VAR_DIR": str(self.var), "PRIVATE_STORAGE_ROOT": str(self.var / "private"),
            "STATIC_ROOT": str(self.var / "static"), "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
            "FORWARDED_ALLOW_IPS": "127.0.0.1", "DESK_STAFF_PASSWORD": PASSWORD, "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.env = env
        for args in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["seed_staff"]):
            result = subprocess.run([self.python, "manage.py", *args], cwd=self.tree, env=env, capture_output=True,
                                    text=True, timeout=900)
            if result.returncode != 0:
                raise SystemExit(f"{self.tree}: manage.py {args[0]} failed\n{result.stderr[-3000:]}")
        self.public_port = free_port()
        self.procs.append(self._spawn(
            [self.python, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi",
             "--bind", f"127.0.0.1:{self.public_port}", "--workers", str(self.web_workers)], "web", {}))
        has_pools = "GUNICORN_POOL" in (self.tree / "deploy" / "gunicorn.conf.py").read_text()
        if has_pools:  # the documented deploy: the staff's paths on their own pool
            self.staff_port = free_port()
            self.procs.append(self._spawn(
                [self.python, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"], "staff",
                {"GUNICORN_POOL": "staff", "STAFF_GUNICORN_BIND": f"127.0.0.1:{self.staff_port}"}))
        else:
            self.staff_port = self.public_port
        self.procs.append(self._spawn(
            [self.python, "-m", "celery", "-A", "config", "worker", "--concurrency=2", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", f"--hostname=surge-{self.tag}-{os.getpid()}@%h"], "worker", {}))
        deadline = time.monotonic() + 120
        for port in {self.public_port, self.staff_port}:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz/", headers={"Host": HOST}).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.tree}: gunicorn did not answer; see {self.var}/web.log")
                time.sleep(0.5)

    def _spawn(self, cmd: list[str], name: str, extra: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.var / f"{name}.log").open("ab")
        return subprocess.Popen(cmd, cwd=self.tree, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        shutil.rmtree(self.var, ignore_errors=True)


# --- Clients --------------------------------------------------------------------------------
class Browser:
    """Cookies by hand: the production cookies are ``Secure`` and the bench speaks plain HTTP to
    gunicorn, as the TLS-terminating proxy does."""

    def __init__(self, client: httpx.AsyncClient, base: str, ip: str) -> None:
        self.client, self.base, self.cookies = client, base, {}
        self.headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Real-IP": ip,
                        "Referer": f"https://{HOST}/", "Origin": f"https://{HOST}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **({"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
                                      if self.cookies else {})}
        response = await self.client.request(method, self.base + path, headers=headers, **kwargs)
        for raw in response.headers.get_list("set-cookie"):
            name, _, value = raw.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response

    def csrf(self, page: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not match:
            raise RuntimeError("no CSRF token on the page")
        return match.group(1)


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 204800 >>\nstream\n" + os.urandom(200 * 1024) + \
    b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n"


@dataclass
class Level:
    concurrency: int
    accepted: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    post_times: list[float] = field(default_factory=list)
    desk_times: list[float] = field(default_factory=list)
    seconds: float = 0.0
    ack_wait: float = float("nan")
    waits: Counter[str] = field(default_factory=Counter)  # sampled pg_stat_activity of the web's sessions


def sample_waits(stack: Stack, level: Level, stop: threading.Event) -> None:
    """What PostgreSQL's sessions are doing, 10 times a second: waiting on a lock (and on what
    statement), running, or idle inside a transaction: the profile of where a submission waits."""
    with psycopg.connect(f"{stack.pg}/{stack.db_name}", autocommit=True) as conn:
        while not stop.wait(0.1):
            for state, wait_type, wait, query in conn.execute(
                    "SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state <> 'idle'"):
                key = f"{state}/{wait_type}:{wait}" if wait_type and wait_type != "Client" else state
                level.waits[f"{key} | {query}" if wait_type == "Lock" or state == "active" else key] += 1


async def requester(client: httpx.AsyncClient, stack: Stack, level: Level, n: int, pdf_share: float) -> None:
    # Its own /64 (django-ratelimit counts IPv6 clients per /64): a documentation address, only a header.
    ip = f"2001:db8:{level.concurrency:x}:{n:x}::1"
    browser = Browser(client, f"http://127.0.0.1:{stack.public_port}", ip)
    page = await browser.request("GET", "/en/")
    if page.status_code != 200:
        level.refused[page.status_code] += 1
        return
    data = {"csrfmiddlewaretoken": browser.csrf(page.text), "request_type": "access", "name": f"Surge Requester {n}",
            "email": f"surge{level.concurrency}-{n}@example.org", "under_14": "no", "consent": "on", "website": "",
            "description": f"After the breach I want to see what you hold about me. Request {n}."}
    with_pdf = (n * 7919) % 100 < pdf_share * 100
    files = {"attachments": ("proof.pdf", PDF, "application/pdf")} if with_pdf else None
    started = time.monotonic()
    response = await browser.request("POST", "/en/", data=data, files=files)
    elapsed = time.monotonic() - started
    if response.status_code == 302:
        level.accepted += 1
        level.post_times.append(elapsed)
    else:
        level.refused[response.status_code] += 1


async def administrator(client: httpx.AsyncClient, stack: Stack, username: str, level: Level,
                        stop: asyncio.Event) -> None:
    browser = Browser(client, f"http://127.0.0.1:{stack.staff_port}", "192.0.2.10")
    page = await browser.request("GET", "/desk/login/")
    login = await browser.request("POST", "/desk/login/", data={
        "csrfmiddlewaretoken": browser.csrf(page.text), "username": username, "password": PASSWORD})
    if login.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: {login.status_code}")
    ticket_path = ""
    while not stop.is_set():
        for path in ("/desk/", ticket_path):
            if not path:
                continue
            started = time.monotonic()
            response = await browser.request("GET", path)
            level.desk_times.append(time.monotonic() - started)
            if path == "/desk/" and response.status_code == 200:
                found = re.search(r'href="(/desk/tickets/[^"/]+/)"', response.text)
                ticket_path = found.group(1) if found else ticket_path
        await asyncio.sleep(0.5)


async def run_level(stack: Stack, concurrency: int, seconds: float, pdf_share: float, counter: list[int]) -> Level:
    level = Level(concurrency)
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=0)
    stop_sampling = threading.Event()
    sampler = threading.Thread(target=sample_waits, args=(stack, level, stop_sampling), daemon=True)
    sampler.start()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        admins = [asyncio.create_task(administrator(client, stack, name, level, stop)) for name in ADMINS]
        deadline = time.monotonic() + seconds
        started = time.monotonic()

        async def loop() -> None:
            while time.monotonic() < deadline:
                counter[0] += 1
                await requester(client, stack, level, counter[0], pdf_share)

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        level.seconds = time.monotonic() - started
        stop.set()
        await asyncio.gather(*admins)
    stop_sampling.set()
    sampler.join()
    return level


def wait_for_acks(stack: Stack, accepted_total: int, since: float, timeout: float = 180) -> float:
    """Seconds from ``since`` (the level's last submission) until every acknowledgement reached the sink."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        acks, last = stack.sink.snapshot()
        if len(acks) >= accepted_total:
            return max(0.0, last - since)
        time.sleep(0.2)
    return float("nan")


def bench_tree(tree: Path, tag: str, args: argparse.Namespace) -> dict[str, Any]:
    sink = Sink()
    sink.controller.start()
    stack = Stack(tree=tree, tag=tag, pg=args.pg, redis=args.redis, web_workers=args.web_workers, sink=sink,
                  python=args.python)
    print(f"[{tag}] {tree}: starting the stack ...", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        stack.start()
        counter, accepted_total = [0], 0
        for concurrency in args.levels:
            level = asyncio.run(run_level(stack, concurrency, args.seconds, args.pdf_share, counter))
            ended = time.monotonic()
            accepted_total += level.accepted
            level.ack_wait = wait_for_acks(stack, accepted_total, ended)
            rows.append({
                "tree": tag, "concurrency": concurrency, "accepted_per_s": round(level.accepted / level.seconds, 1),
                "accepted": level.accepted, "refused": dict(level.refused),
                "post_p50_ms": round(1000 * quantile(level.post_times, 0.5)),
                "post_p95_ms": round(1000 * quantile(level.post_times, 0.95)),
                "desk_p95_ms": round(1000 * quantile(level.desk_times, 0.95)),
                "desk_pages": len(level.desk_times), "last_ack_after_s": round(level.ack_wait, 1),
            })
            print(json.dumps(rows[-1]), flush=True)
            if args.waits:
                total = sum(level.waits.values()) or 1
                for what, n in level.waits.most_common(args.waits):
                    print(f"    {100 * n / total:5.1f} %  {what}")
        time.sleep(2)  # anything sent twice arrives late
        tickets = stack.psql("SELECT count(*) FROM helpdesk_ticket WHERE channel = 'web'", stack.db_name)[0][0]
        stored_acks = {row[0] for row in stack.psql(
            "SELECT m.message_id FROM helpdesk_message m JOIN helpdesk_ticket t ON t.id = m.ticket_id "
            "WHERE t.channel = 'web' AND m.kind = 'acknowledgement'", stack.db_name)}
        received, _last = sink.snapshot()
        counts = {"tree": tag, "submissions_accepted": accepted_total, "web_tickets": tickets,
                  "acks_stored": len(stored_acks), "acks_received": sum(received.values()),
                  "acks_sent_twice": sum(1 for n in received.values() if n > 1),
                  "acks_unknown": len(set(received) - stored_acks),
                  # PostgreSQL sessions ever opened on the database (web, worker, this bench's own few)
                  "pg_sessions": stack.psql(
                      f"SELECT sessions FROM pg_stat_database WHERE datname = '{stack.db_name}'")[0][0]}
        counts["in_equals_out"] = (accepted_total == tickets == len(stored_acks) == counts["acks_received"]
                                   and not counts["acks_sent_twice"] and not counts["acks_unknown"])
        print(json.dumps(counts), flush=True)
        return {"levels": rows, "counts": counts}
    finally:
        stack.stop()
        sink.controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="5,25,50", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", default=15.0, type=float, help="how long each level submits (bounded)")
    parser.add_argument("--pdf-share", default=0.2, type=float)
    parser.add_argument("--web-workers", default=5, type=int)
    parser.add_argument("--against", type=Path, help="another tree (e.g. an export of main), benched right after")
    parser.add_argument("--pg", default=os.environ.get("SURGE_PG", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis", default=os.environ.get("SURGE_REDIS", "redis://127.0.0.1:6379/13"),
                        help="broker and cache; this Redis database is FLUSHED first")
    parser.add_argument("--waits", default=0, type=int, metavar="N",
                        help="print the N commonest PostgreSQL session states/lock waits sampled per level")
    parser.add_argument("--tag", default="", help="prefix of the benchmark's databases (pd_surge_<tag>this)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the stack")
    args = parser.parse_args()
    from urllib.parse import urlsplit

    if {urlsplit(args.pg).hostname, urlsplit(args.redis).hostname} - {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("loopback only: --pg and --redis must be on this machine (127.0.0.1)")
    results = {"this": bench_tree(ROOT, f"{args.tag}this", args)}
    if args.against:
        results["against"] = bench_tree(args.against.resolve(), f"{args.tag}against", args)
    print("\nconcurrency | tree | accepted/s | POST p50 / p95 ms | desk p95 ms | last ack after s")
    for name, result in results.items():
        for row in result["levels"]:
            print(f"{row['concurrency']:>11} | {name:7} | {row['accepted_per_s']:>10} | "
                  f"{row['post_p50_ms']:>6} / {row['post_p95_ms']:<6} | {row['desk_p95_ms']:>11} | "
                  f"{row['last_ack_after_s']}")
        print(f"{'':>11} | {name:7} | counts in = out: {result['counts']['in_equals_out']} "
              f"({result['counts']['submissions_accepted']} accepted, {result['counts']['web_tickets']} tickets, "
              f"{result['counts']['acks_received']} acknowledgements received)")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
