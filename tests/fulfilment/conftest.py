"""Real external sources for fulfilment tests: a SQLite CRM file, an HTTP service on loopback and a
separate PostgreSQL database with a read-only and a writer role."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpdesk import services
from helpdesk.fulfilment.management.commands.demo_data_sources import create_demo_crm
from helpdesk.models import Ticket, User
from tests.support.realservices import require


@pytest.fixture
def crm_db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.sqlite3"
    create_demo_crm(path)
    return path


def crm_toml(db: Path, extra: str = "") -> str:
    return f"""
[[source]]
name = "crm"
url = "sqlite:///{db}"
[[source.table]]
name = "customers"
match = "email"
export = ["name", "email", "phone", "company"]
erase = "delete"
[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
keep_reason = "Commercial Act: transaction records 5 years"
[[source.table]]
name = "newsletter"
match = "email"
erase = "set"
set = {{ subscribed = 0 }}
{extra}"""


@pytest.fixture
def use_sources(settings: Any, tmp_path: Path) -> Callable[[str], Path]:
    """Write a data sources file and point DESK_DATA_SOURCES at it."""

    def write(text: str) -> Path:
        path = tmp_path / f"sources-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(text, encoding="utf-8")
        settings.DESK_DATA_SOURCES = str(path)
        return path

    return write


# --- An HTTP data service on loopback --------------------------------------------------------------
@dataclass
class HttpService:
    url: str
    token: str
    records: dict[str, list[dict[str, Any]]]
    delay: float = 0.0
    status: int = 200
    calls: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def http_service() -> Iterator[HttpService]:
    service = HttpService(url="", token="s3cret-token-" + uuid.uuid4().hex[:8], records={
        "requester@example.com": [{"list": "product-news", "subscribed_at": "2025-05-01"}],
    })

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            if service.delay:
                time.sleep(service.delay)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            service.calls.append({"auth": self.headers.get("Authorization"), **body})
            if self.headers.get("Authorization") != f"Bearer {service.token}":
                return self._answer(401, {"error": "unauthorized"})
            if service.status != 200:
                return self._answer(service.status, {"error": "broken"})
            email = str(body.get("email", "")).lower()
            if body.get("action") == "find":
                return self._answer(200, {"records": service.records.get(email, [])})
            if body.get("action") == "erase":
                return self._answer(200, {"erased": len(service.records.pop(email, []))})
            return self._answer(400, {"error": "unknown action"})

        def _answer(self, status: int, data: Any) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.server = server
    service.url = f"http://127.0.0.1:{server.server_address[1]}/dsr"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    service.stop()


def http_toml(service: HttpService, name: str = "newsletter", timeout: float = 5) -> str:
    return f"""
[[source]]
name = "{name}"
kind = "http"
url = "{service.url}"
token = "{service.token}"
connect_timeout = 2
statement_timeout = {timeout}
"""


# --- A separate PostgreSQL database as the company's CRM ---------------------------------------------
def pg_server() -> str:
    """The PostgreSQL server the test run uses (PG_TEST_URL / DATABASE_URL), without a database."""
    for name in ("DATABASE_URL", "PG_TEST_URL"):
        value = os.environ.get(name, "")
        if value.startswith("postgres"):
            return value.rsplit("/", 1)[0]
    return "postgres://postgres@127.0.0.1:5432"


@dataclass
class PgSource:
    server: str
    database: str
    reader: str
    writer: str

    def url(self, role: str) -> str:
        host = self.server.split("@", 1)[-1]
        return f"postgresql://{role}@{host}/{self.database}"

    def admin(self) -> Any:
        import psycopg

        return psycopg.connect(f"{self.server}/{self.database}", autocommit=True)


@pytest.fixture
def pg_source() -> Iterator[PgSource]:
    import psycopg

    server = pg_server()
    try:
        root = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as refused:
        require(False, f"PostgreSQL server at {server}: {refused}")
        raise
    suffix = uuid.uuid4().hex[:8]
    source = PgSource(server=server, database=f"pd_crm_src_{suffix}", reader=f"pd_crm_reader_{suffix}",
                      writer=f"pd_crm_writer_{suffix}")
    with root:
        root.execute(f'CREATE DATABASE "{source.database}"')
        root.execute(f'CREATE ROLE "{source.reader}" LOGIN')
        root.execute(f'CREATE ROLE "{source.writer}" LOGIN')
    try:
        with source.admin() as db:
            db.execute("""
                CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL,
                                        phone text, company text, created_at timestamptz DEFAULT now());
                CREATE INDEX customers_email ON customers (lower(email));
                CREATE TABLE orders (id serial PRIMARY KEY, customer_email text NOT NULL, amount numeric(12,2),
                                     ordered_at date);
                CREATE TABLE marketing (email text PRIMARY KEY, opted_in boolean NOT NULL, phone text);
                INSERT INTO customers (name, email, phone, company) VALUES
                    ('홍길동', 'Requester@Example.com', '010-1234-5678', '길동상사'),
                    ('김민지', 'minji.kim@example.co.kr', '010-2222-3333', '미래전자'),
                    ('Jane Doe', 'jane.doe@example.com', '+1 555 0100', 'Acme');
                INSERT INTO orders (customer_email, amount, ordered_at) VALUES
                    ('requester@example.com', 129000.00, '2025-03-14'), ('jane.doe@example.com', 5.50, '2026-01-01');
                INSERT INTO marketing VALUES ('REQUESTER@example.com', true, '010-1234-5678'),
                                             ('jane.doe@example.com', true, NULL);
            """)
            db.execute(f'GRANT CONNECT ON DATABASE "{source.database}" TO "{source.reader}", "{source.writer}"')
            db.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{source.reader}"')
            db.execute(f'GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{source.writer}"')
        yield source
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as root:
            root.execute(f'DROP DATABASE IF EXISTS "{source.database}" WITH (FORCE)')
            root.execute(f'DROP ROLE IF EXISTS "{source.reader}"')
            root.execute(f'DROP ROLE IF EXISTS "{source.writer}"')


def pg_toml(source: PgSource, *, statement_timeout: float = 10) -> str:
    return f"""
[[source]]
name = "pgcrm"
url = "{source.url(source.reader)}"
erase_url = "{source.url(source.writer)}"
connect_timeout = 3
statement_timeout = {statement_timeout}
[[source.table]]
name = "customers"
match = "email"
erase = "delete"
[[source.table]]
name = "orders"
match = "customer_email"
erase = "keep"
keep_reason = "Commercial Act: transaction records 5 years"
[[source.table]]
name = "marketing"
match = "email"
erase = "anonymize"
anonymize = ["email", "phone"]
"""


# --- Tickets ------------------------------------------------------------------------------------------
@pytest.fixture
def verified_ticket(make_ticket: Callable[..., Ticket], admin_user: User, manager: User,
                    django_capture_on_commit_callbacks: Any) -> Callable[..., Ticket]:
    """A ticket assigned to ``admin_user`` whose requester's identity was verified."""

    def make(request_type: str = "access", email: str = "requester@example.com") -> Ticket:
        ticket = make_ticket(request_type=request_type, email=email)
        with django_capture_on_commit_callbacks(execute=True):
            services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
            services.transition_ticket(ticket=ticket, name="verify", actor=admin_user,
                                       verification_method="id_document", note="ID card checked")
        ticket.refresh_from_db()
        return ticket

    return make
