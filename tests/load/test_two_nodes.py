"""Two stateless web nodes behind one database and one Redis (run with ``make load``).

On loopback: two gunicorn nodes, each started from its own empty working directory with its own
``DESK_VAR_DIR`` and ``PRIVATE_STORAGE_ROOT`` (so nothing can be shared through the disk), one
PostgreSQL database (``pd_nodes_load``, recreated each run), one Redis database (cache, rate limits
and broker), one Celery worker, one beat and an SMTP sink. Files are kept with
``DESK_FILE_STORAGE=database``.

1. A submission with an attachment on node A is downloadable by staff on node B.
2. A sign-in on node A is valid on node B (sessions in the database, one SECRET_KEY).
3. The per-IP rate limit counts submissions on both nodes together (the cache is Redis).
4. Node A is SIGKILLed in the middle of a submission (its upload half sent): nothing of it is kept,
   the requester's retry on node B files exactly one ticket with its attachment intact, and the
   requester's mail (acknowledgement, address confirmation) arrives once each. Node A restarted serves that ticket.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.load.test_load_and_faults import Sink, _manage, _psql, _stop, _wait_for
from tests.support.realservices import free_port, require

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "pd_nodes_load"
RATE_SUBMIT_IP = 3  # per hour and client address
STAFF_PASSWORD = "two-nodes-" + uuid.uuid4().hex
ATTACHMENT = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(300_000)


def _redis_url() -> str:
    return os.environ.get("DESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


class Node:
    """One gunicorn node: its own working directory, var dir and private storage root."""

    def __init__(self, name: str, base: Path, env: dict[str, str]) -> None:
        self.name, self.port = name, free_port()
        self.dir = base / name
        (self.dir / "var").mkdir(parents=True)
        self.env = {**env, "DESK_VAR_DIR": str(self.dir / "var"), "PRIVATE_STORAGE_ROOT": str(self.dir / "private")}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--pythonpath", str(ROOT), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
               "--timeout", "60", "config.wsgi"]
        log = (self.dir / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        _wait_for(self.healthy, 60, f"node {self.name}")

    def healthy(self) -> bool:
        import requests

        try:
            return requests.get(f"{self.url}/healthz/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # the master and its workers, no goodbye
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def files_on_disk(self) -> list[Path]:
        return [p for p in (self.dir / "private").rglob("*") if p.is_file()] if (self.dir / "private").exists() else []


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    redis_url = _redis_url()
    redis_at = urlsplit(redis_url)
    require(_reachable("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    require(_reachable(redis_at.hostname or "127.0.0.1", redis_at.port or 6379), f"Redis at {redis_url}")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    _psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB_NAME}")
    base = tmp_path_factory.mktemp("nodes")
    sink = Sink()
    sink.controller.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": "two-nodes-" + uuid.uuid4().hex, "DESK_FILE_STORAGE": "database",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port), "DEBUG": "false",
        "DESK_RATE_SUBMIT_IP": f"{RATE_SUBMIT_IP}/h", "DESK_RATE_SUBMIT_EMAIL": "100/h",
        "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",  # each test is its own client address
        "DESK_STAFF_PASSWORD": STAFF_PASSWORD, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    })
    _manage({**env, "DESK_VAR_DIR": str(base / "setup")}, "migrate", "--noinput")
    _manage({**env, "DESK_VAR_DIR": str(base / "setup")}, "seed_staff")
    a, b = Node("a", base, env), Node("b", base, env)
    background: list[subprocess.Popen[bytes]] = []
    try:
        a.start()
        b.start()
        for name, args in (("worker", ["worker", "--concurrency=2", "--without-gossip", "--without-mingle",
                                       f"--hostname=nodes-{os.getpid()}@%h"]),
                           ("beat", ["beat", "--schedule", str(base / "beat-schedule")])):
            (base / name).mkdir()
            background.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel=WARNING"], cwd=base / name,
                env={**env, "DESK_VAR_DIR": str(base / name)}, stdout=(base / f"{name}.log").open("ab"),
                stderr=subprocess.STDOUT, start_new_session=True))
        yield {"a": a, "b": b, "sink": sink, "base": base, "background": background}
    finally:
        for process in background:
            _stop(process)
        a.stop()
        b.stop()
        sink.controller.stop()


# --- Clients -------------------------------------------------------------------------------------
def _client(address: str) -> Any:
    import requests

    session = requests.Session()
    session.headers["X-Real-IP"] = address
    return session


def _form(session: Any, node: Node, email: str) -> tuple[dict[str, str], dict[str, Any]]:
    page = session.get(f"{node.url}/en/", timeout=60)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    data = {"csrfmiddlewaretoken": token.group(1), "request_type": "access", "name": "두 노드",
            "email": email, "description": "제 개인정보를 열람하고 싶습니다.", "under_14": "no",
            "consent": "on", "website": ""}
    return data, {"attachments": ("id-card.pdf", ATTACHMENT, "application/pdf")}


def _submit(session: Any, node: Node, email: str) -> int:
    data, files = _form(session, node, email)
    response = session.post(f"{node.url}/en/", data=data, files=files, timeout=60, allow_redirects=False,
                            headers={"Referer": f"{node.url}/en/"})
    return int(response.status_code)


def _sign_in(node: Node) -> Any:
    session = _client("10.9.0.1")
    page = session.get(f"{node.url}/desk/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    response = session.post(f"{node.url}/desk/login/", timeout=60, allow_redirects=False,
                            headers={"Referer": f"{node.url}/desk/login/"},
                            data={"csrfmiddlewaretoken": token.group(1), "username": "manager",
                                  "password": STAFF_PASSWORD})
    assert response.status_code == 302, response.text[:2000]
    return session


def _rows(sql: str) -> list[tuple[Any, ...]]:
    return _psql(sql, dbname=DB_NAME)


def _tickets_of(email: str) -> list[tuple[Any, ...]]:
    return _rows("SELECT t.reference, a.id, a.file FROM helpdesk_ticket t JOIN helpdesk_requester r "
                 "ON r.id = t.requester_id LEFT JOIN helpdesk_message m ON m.ticket_id = t.id "
                 "LEFT JOIN helpdesk_attachment a ON a.message_id = m.id "
                 f"WHERE r.email = '{email}' AND a.id IS NOT NULL")


# --- The tests -------------------------------------------------------------------------------------
def test_a_submission_on_a_is_downloadable_by_staff_signed_in_on_b(nodes: dict[str, Any]) -> None:
    a, b = nodes["a"], nodes["b"]
    assert _submit(_client("10.0.0.1"), a, "first@example.org") == 302
    [(reference, attachment_id, name)] = _tickets_of("first@example.org")
    staff = _sign_in(b)
    ticket = staff.get(f"{b.url}/desk/tickets/{reference}/", timeout=60)
    assert ticket.status_code == 200 and reference in ticket.text
    download = staff.get(f"{b.url}/desk/attachments/{attachment_id}/", timeout=60)
    assert download.status_code == 200 and download.content == ATTACHMENT
    assert _rows(f"SELECT count(*) FROM helpdesk_storedfile WHERE name = '{name}'") == [(1,)]
    assert a.files_on_disk() == [] and b.files_on_disk() == []  # the bytes are in the database only


def test_a_sign_in_on_a_is_valid_on_b(nodes: dict[str, Any]) -> None:
    a, b = nodes["a"], nodes["b"]
    staff = _sign_in(a)
    on_b = staff.get(f"{b.url}/desk/", timeout=60, allow_redirects=False)
    assert on_b.status_code == 200, on_b.headers.get("Location")
    stranger = _client("10.9.0.2").get(f"{b.url}/desk/", timeout=60, allow_redirects=False)
    assert stranger.status_code == 302 and "/login/" in stranger.headers["Location"]


def test_the_rate_limit_counts_across_both_nodes(nodes: dict[str, Any]) -> None:
    a, b = nodes["a"], nodes["b"]
    client = _client("10.0.0.3")
    answers = [_submit(client, node, f"rate{i}@example.org") for i, node in enumerate([a, b, a, b, a])]
    assert answers == [302] * RATE_SUBMIT_IP + [429] * (5 - RATE_SUBMIT_IP)


def _half_sent_submission(node: Node, email: str) -> socket.socket:
    """Send the headers and half of a multipart body, then stop: the node is mid-submission."""
    import requests

    session = _client("10.0.0.4")
    data, files = _form(session, node, email)
    prepared = session.prepare_request(requests.Request(
        "POST", f"{node.url}/en/", data=data, files=files, headers={"Referer": f"{node.url}/en/"}))
    body = prepared.body
    assert isinstance(body, bytes)
    head = ["POST /en/ HTTP/1.1", f"Host: 127.0.0.1:{node.port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in prepared.headers.items() if k.lower() not in {"content-length", "host"}]
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=30)
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body[: len(body) // 2])
    return sock


def test_node_a_killed_mid_submission_loses_nothing_and_duplicates_nothing(nodes: dict[str, Any]) -> None:
    a, b, sink = nodes["a"], nodes["b"], nodes["sink"]
    email = "killed@example.org"
    files_before = _rows("SELECT count(*) FROM helpdesk_storedfile")[0][0]
    sock = _half_sent_submission(a, email)
    time.sleep(1)  # the worker is reading the upload
    a.kill()
    assert sock.recv(1024) == b""  # the connection died with the node: no answer was given
    sock.close()
    assert _tickets_of(email) == [] and _rows("SELECT count(*) FROM helpdesk_storedfile")[0][0] == files_before

    assert _submit(_client("10.0.0.5"), b, email) == 302  # the requester tries again; the balancer sends B
    [(reference, attachment_id, _name)] = _tickets_of(email)
    assert _rows("SELECT count(*) FROM helpdesk_storedfile")[0][0] == files_before + 1
    # Every stored file belongs to an attachment: nothing half-kept by the killed node.
    assert _rows("SELECT count(*) FROM helpdesk_storedfile s WHERE NOT EXISTS (SELECT 1 FROM helpdesk_attachment a "
                 "WHERE a.file = s.name) AND NOT EXISTS (SELECT 1 FROM helpdesk_message m "
                 "WHERE m.raw_message = s.name)") == [(0,)]
    # The requester's mail (acknowledgement, address confirmation) arrives as for any submission, once.
    expected = sum("first@example.org" in to for to in sink.recipients())
    assert expected >= 1
    _wait_for(lambda: sum(email in to for to in sink.recipients()) >= expected, 60, "the acknowledgement")
    time.sleep(3)  # a duplicate would arrive by now
    mine = [item["message_id"] for item in sink.received if email in item["to"]]
    assert len(mine) == expected and len(set(mine)) == expected

    a.start()  # a replacement node, same empty disk: it serves what B filed
    staff = _sign_in(a)
    download = staff.get(f"{a.url}/desk/attachments/{attachment_id}/", timeout=60)
    assert download.status_code == 200 and download.content == ATTACHMENT
    assert reference in staff.get(f"{a.url}/desk/tickets/{reference}/", timeout=60).text
    assert all(process.poll() is None for process in nodes["background"]), "the worker or beat stopped"
