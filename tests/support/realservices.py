"""Real external parts for tests: an SMTP sink (aiosmtpd) and a Celery worker process on Redis.

Both listen only on loopback. The worker needs PostgreSQL (it is another process, so it cannot
see SQLite's in-memory test database) and a transactional test (``transactional_db``).
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require(condition: bool, why: str) -> None:
    """Skip locally when a real part is missing; in CI (CI=true) that is a failure."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"required for this test in CI: {why}")
        pytest.skip(why)


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)  # the client's (address, port): one per SMTP connection
    refuse: set[str] = field(default_factory=set)  # recipients answered "550 mailbox unavailable"
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(parsed)
            self.envelopes.append(envelope)
            self.peers.append(session.peer)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        """Block until ``count`` messages arrived (or fail with what did arrive)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    subjects = [m["Subject"] for m in self.messages]
                    raise AssertionError(f"expected {count} mails in the sink, got {len(self.messages)}: {subjects}")
                self._arrived.wait(remaining)
        return list(self.messages)


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; the desk's mail settings point at it."""
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    broker_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _reset_connections(app: Any) -> None:
    """Forget pooled broker connections so the next send uses the broker just configured."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu's global producer pools still point at the closed connection pool


@pytest.fixture
def celery_worker_process(transactional_db: Any, settings: Any, tmp_path: Path,
                          request: pytest.FixtureRequest) -> Iterator[Any]:
    """Start ``celery -A config worker`` against the test database and a real Redis broker.

    Yields a factory: call it (optionally with extra env) to start a worker; it returns a
    :class:`WorkerProcess`. Tasks sent by the test process go to that broker, not in-process.
    """
    from django.db import connection

    from config.celery import app

    if connection.vendor != "postgresql":  # by design, not a missing part: the PostgreSQL run covers it
        pytest.skip("a Celery worker process needs the PostgreSQL test database")
    broker = os.environ.get("DESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    require(_redis_up(broker), f"Redis at {broker}")
    import redis

    redis.Redis.from_url(broker).flushdb()
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    database_url = f"postgres://{db['USER'] or 'postgres'}@{host}:{port}/{db['NAME']}"
    saved = {k: app.conf.get(k) for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=broker, task_always_eager=False, result_backend=None)
    _reset_connections(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    workers: list[WorkerProcess] = []

    def start(extra_env: dict[str, str] | None = None) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"),
            "DESK_VAR_DIR": str(tmp_path / "var"),
            "EMAIL_HOST": settings.EMAIL_HOST if "smtp" in settings.EMAIL_BACKEND else "",
            "EMAIL_PORT": str(settings.EMAIL_PORT),
            "EMAIL_BACKEND": settings.EMAIL_BACKEND
            if "smtp" in settings.EMAIL_BACKEND
            else "django.core.mail.backends.dummy.EmailBackend",
            **(extra_env or {}),
        }
        log_path = tmp_path / f"worker-{len(workers)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                 "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
                 "--hostname", f"test-{os.getpid()}-{len(workers)}@localhost"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, broker, log_path)
        workers.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"celery worker did not start:\n{worker.log()}")
            time.sleep(0.2)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.terminate()
                try:
                    worker.process.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        app.conf.update(**saved)
        _reset_connections(app)


CHROMIUM = "/usr/bin/chromium"  # Debian's package; browsers are never downloaded
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (sync API)."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright import sync_api
    # Playwright's sync API runs an event loop in this thread; the test still uses the ORM here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
