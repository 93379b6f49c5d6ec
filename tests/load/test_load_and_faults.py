"""Load and fault tests against a real stack on loopback (bounded; everything stops by itself).

The stack: PostgreSQL (a fresh ``pd_trust_load`` database, reached through a TCP proxy on
loopback that the test can stop to simulate "PostgreSQL down" without touching the shared
server), Redis DB 7 as broker and cache, gunicorn with 2 workers, a real Celery worker and an
aiosmtpd sink counting what is actually sent.

1. 200 concurrent Contact Us submissions + 2,000 mails through ``manage.py ingest_email`` at once:
   no 5xx, every accepted submission and every mail is exactly one ticket.
2. The Celery worker is SIGKILLed mid-run and restarted: in the end every acknowledgement reached
   the SMTP sink exactly once.
3. PostgreSQL is unreachable for 10 s during ingestion: ``ingest_email`` exits 75 (EX_TEMPFAIL),
   and re-running it files every message exactly once.

Run: ``python -m pytest -m load tests/load -s`` (or ``bench/load_and_faults.sh``). Figures are printed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.support.realservices import require

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]
PG = ("127.0.0.1", 5432)
DB_NAME = "pd_trust_load"
REDIS_DB = 7
WEB_SUBMISSIONS = 200
MAILS = 2000
OUTAGE_MAILS = 1500  # three processes of 500 mails: two batches each, so the outage finds one in flight
RATE_SUBMIT_IP = 150  # per hour: the rest of the 200 get deliberate 429s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require(host: str, port: int, what: str) -> None:
    try:
        socket.create_connection((host, port), timeout=2).close()
        reachable = True
    except OSError:
        reachable = False
    require(reachable, f"{what} not reachable on {host}:{port}")


# --- A TCP proxy we can stop: "PostgreSQL down" without stopping the shared server ------------
class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(512)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one, like a database that went away."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update({client, upstream})
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # shutdown() before close(): a bare close() does not wake the other pump thread
            # blocked in recv(), and the TCP connection would stay open (PostgreSQL would keep the
            # dead client's transaction and row locks).
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)


# --- SMTP sink -------------------------------------------------------------------------------
class Sink:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[dict[str, str]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes

                parsed = message_from_bytes(envelope.content)
                with sink._lock:
                    sink.received.append({"message_id": str(parsed.get("Message-ID", "")).strip("<>"),
                                          "ticket": str(parsed.get("X-Privacy-Desk-Ticket", "")),
                                          "to": ",".join(envelope.rcpt_tos)})
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def recipients(self) -> list[str]:
        with self._lock:
            return [item["to"] for item in self.received]

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(item["message_id"] for item in self.received)


# --- Processes ---------------------------------------------------------------------------------
def _env(proxy_port: int, smtp_port: int, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{proxy_port}/{DB_NAME}",
        "DB_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port),
        "DESK_VAR_DIR": str(var_dir), "PRIVATE_STORAGE_ROOT": str(var_dir / "private"),
        "DEBUG": "false", "DESK_RATE_SUBMIT_IP": f"{RATE_SUBMIT_IP}/h", "DESK_RATE_SUBMIT_EMAIL": "5/h",
        "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    })
    return env


def _manage(env: dict[str, str], *args: str, timeout: int = 600,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args[:2])} → {result.returncode}\n{result.stderr[-3000:]}")
    return result


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def _psql(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(host=PG[0], port=PG[1], user="postgres", dbname=dbname, autocommit=True) as conn:
        cur = conn.execute(sql)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _mail(i: int, prefix: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"요청자 {i} <{prefix}{i}@example.org>"
    mail["To"] = "micube@micube.co.kr"
    mail["Subject"] = f"개인정보 열람 요청 {prefix} {i}"
    mail["Message-ID"] = f"<{prefix}-{i}@load.example.org>"
    mail["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0900")
    mail.set_content(f"안녕하세요. 제 개인정보 열람을 요청합니다. ({i})\n")
    return mail.as_bytes()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    _require(*PG, "PostgreSQL")
    _require("127.0.0.1", 6379, "Redis")
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB_NAME}")
    var_dir = tmp_path_factory.mktemp("load")
    proxy = TcpProxy(PG)
    proxy.start()
    sink = Sink()
    sink.controller.start()
    env = _env(proxy.port, sink.port, var_dir)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_staff", check=False)
    web_port = _free_port()
    web = _start([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi",
                  "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--timeout", "60"], env, var_dir / "web.log")
    worker_cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=4", "--loglevel=WARNING",
                  "--without-gossip", "--without-mingle", f"--hostname=load-{os.getpid()}@%h"]
    state: dict[str, Any] = {"env": env, "proxy": proxy, "sink": sink, "var": var_dir, "web_port": web_port,
                             "worker_cmd": worker_cmd,
                             "worker": _start(worker_cmd, env, var_dir / "worker.log"), "figures": {}}
    try:
        _wait_for(lambda: _http_ok(web_port), 60, "gunicorn")
        yield state
    finally:
        _stop(state["worker"])
        _stop(web)
        sink.controller.stop()
        proxy.stop()
        print("\nload/fault figures:", json.dumps(state["figures"], indent=2))


def _http_ok(port: int) -> bool:
    import requests

    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


# Generous: under 2,000 concurrent mails every ticket creation queues for the assignment lock,
# so a form post can wait; the figure printed is the slowest one.
CLIENT_TIMEOUT = 300
LATENCIES: list[float] = []


def _submit(port: int, i: int) -> int:
    import requests

    session = requests.Session()
    base = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    page = session.get(base, timeout=CLIENT_TIMEOUT)
    if page.status_code != 200:
        return page.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the Contact Us form"
    response = session.post(base, timeout=CLIENT_TIMEOUT, allow_redirects=False, headers={"Referer": base}, data={
        "csrfmiddlewaretoken": token.group(1), "request_type": "access", "name": f"웹 요청자 {i}",
        "email": f"web{i}@example.org", "description": f"제 개인정보를 열람하고 싶습니다. 요청 번호 {i}.",
        "under_14": "no", "consent": "on", "website": "",
    })
    LATENCIES.append(time.monotonic() - started)
    return response.status_code


def _ingest(env: dict[str, str], files: list[Path], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return _manage(env, "ingest_email", *map(str, files), timeout=timeout, check=False)


def _db(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    return _psql(sql, dbname=DB_NAME)


def test_concurrent_web_and_mail_with_worker_killed(stack: dict[str, Any]) -> None:
    env, sink, var = stack["env"], stack["sink"], stack["var"]
    mail_dir = var / "mail"
    mail_dir.mkdir()
    files = []
    for i in range(MAILS):
        path = mail_dir / f"{i:05d}.eml"
        path.write_bytes(_mail(i, "load"))
        files.append(path)
    chunks = [files[n::8] for n in range(8)]
    started = time.monotonic()
    killed = threading.Event()

    def kill_worker_mid_run() -> None:
        _wait_for(lambda: len(sink.received) >= 150, 300, "first acknowledgements", interval=0.2)
        _stop(stack["worker"], signal.SIGKILL)
        killed.set()
        time.sleep(2)
        stack["worker"] = _start(stack["worker_cmd"], env, var / "worker.log")

    with concurrent.futures.ThreadPoolExecutor(max_workers=WEB_SUBMISSIONS + 9) as pool:
        killer = pool.submit(kill_worker_mid_run)
        ingests = [pool.submit(_ingest, env, chunk) for chunk in chunks]
        web = [pool.submit(_submit, stack["web_port"], i) for i in range(WEB_SUBMISSIONS)]
        statuses = Counter(f.result() for f in web)
        results = [f.result() for f in ingests]
        killer.result()
    elapsed = time.monotonic() - started
    assert killed.is_set()

    outcomes: Counter[str] = Counter()
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        outcomes.update(json.loads(line)["outcome"] for line in result.stdout.splitlines() if line.strip())
    assert outcomes == Counter({"new_ticket": MAILS}), outcomes
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {302, 429}, statuses
    accepted = statuses[302]

    # No lost or duplicated ticket.
    web_tickets = _db(env, "SELECT count(*), count(DISTINCT requester_id) FROM helpdesk_ticket WHERE channel='web'")[0]
    assert web_tickets == (accepted, accepted)
    mail_tickets = _db(env, "SELECT count(*) FROM helpdesk_ticket WHERE channel='email'")[0][0]
    assert mail_tickets == MAILS
    duplicates = _db(env, "SELECT message_id, count(*) FROM helpdesk_message WHERE direction='inbound' "
                          "AND message_id LIKE 'load-%%' GROUP BY message_id HAVING count(*) > 1")
    assert duplicates == []

    # After the kill: re-enqueue what the dead worker left (what beat's retry_pending_messages does),
    # until every acknowledgement is sent; then each must have reached the sink exactly once.
    def all_sent() -> bool:
        _manage(env, "shell", "-c", "from notifications.tasks import retry_pending_messages as r; r(0)")
        pending = _db(env, "SELECT count(*) FROM helpdesk_message WHERE direction='outbound' "
                           "AND delivery_status IN ('pending','failed')")[0][0]
        return bool(pending == 0)

    _wait_for(all_sent, 300, "every outbound message sent", interval=5)
    time.sleep(3)
    acks = [row[0] for row in _db(env, "SELECT message_id FROM helpdesk_message WHERE kind='acknowledgement'")]
    assert len(acks) >= MAILS
    sent = sink.counts()
    missing = [m for m in acks if sent[m] == 0]
    duplicated = {m: sent[m] for m in acks if sent[m] > 1}
    stack["figures"].update({
        "web_submissions": WEB_SUBMISSIONS, "web_accepted": accepted, "web_rate_limited": statuses[429],
        "mails_ingested": MAILS, "seconds": round(elapsed, 1),
        "tickets_per_second": round((MAILS + accepted) / elapsed, 1),
        "web_slowest_seconds": round(max(LATENCIES), 1) if LATENCIES else None,
        "web_median_seconds": round(sorted(LATENCIES)[len(LATENCIES) // 2], 1) if LATENCIES else None,
        "acknowledgements": len(acks), "sink_messages": len(sink.received),
        "acks_missing": len(missing), "acks_duplicated": len(duplicated),
    })
    assert not missing, f"{len(missing)} acknowledgements never sent"
    assert not duplicated, f"acknowledgements sent more than once: {list(duplicated.items())[:5]}"


def test_postgres_unavailable_during_ingestion(stack: dict[str, Any]) -> None:
    env, proxy, var = stack["env"], stack["proxy"], stack["var"]
    outage_dir = var / "outage"
    outage_dir.mkdir()
    files = []
    for i in range(OUTAGE_MAILS):
        path = outage_dir / f"{i:05d}.eml"
        path.write_bytes(_mail(i, "outage"))
        files.append(path)
    chunks = [files[n::3] for n in range(3)]

    def outage() -> None:
        # Once the first batch is filed, whatever the machine's speed (a fixed delay let a fast
        # ingestion finish before the outage began, and then nothing was tested).
        _wait_for(lambda: _db(env, "SELECT count(*) FROM helpdesk_message WHERE direction = 'inbound' "
                                   "AND message_id LIKE 'outage-%%'")[0][0] > 0, 120, "a filed batch", interval=0.02)
        proxy.stop()
        time.sleep(10)
        proxy.start()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        down = pool.submit(outage)
        first = [pool.submit(_ingest, env, chunk) for chunk in chunks]
        first_codes = [f.result().returncode for f in first]
        down.result()
    assert set(first_codes) <= {0, 75}, first_codes
    assert 75 in first_codes, "the outage did not hit ingestion (machine too fast?): nothing tested"
    for result in first:
        if result.result().returncode == 75:
            assert "temporary" in result.result().stderr.lower() or result.result().stderr

    # The MTA retries: feed every message again. Already-filed ones come back as duplicates.
    retries = [_ingest(env, chunk) for chunk in chunks]
    outcomes: Counter[str] = Counter()
    for result in retries:
        assert result.returncode == 0, result.stderr[-2000:]
        outcomes.update(json.loads(line)["outcome"] for line in result.stdout.splitlines() if line.strip())
    assert set(outcomes) <= {"new_ticket", "duplicate"}
    filed = _db(env, "SELECT count(DISTINCT ticket_id), count(*) FROM helpdesk_message "
                     "WHERE direction='inbound' AND message_id LIKE 'outage-%%'")[0]
    assert filed == (OUTAGE_MAILS, OUTAGE_MAILS), filed
    stack["figures"].update({"outage_exit_codes": Counter(first_codes), "outage_retry_outcomes": dict(outcomes)})
