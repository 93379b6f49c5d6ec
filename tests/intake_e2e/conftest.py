"""Fixtures for the end-to-end intake tests: the fixture corpus, fresh databases for subprocesses
(``manage.py ingest_email`` / ``poll_mailbox`` run as real processes), and a real Dovecot."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.support.realservices import require

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "email"
DOVECOT_SCRIPT = ROOT / ".ci" / "dovecot.sh"
IMAP_PORT = int(os.environ.get("PD_IMAP_PORT", "10143"))
IMAP_USER = os.environ.get("PD_IMAP_USER", "privacy@desk.test")
IMAP_PASSWORD = os.environ.get("PD_IMAP_PASSWORD", "pd-imap-test")


@pytest.fixture(scope="session")
def corpus() -> list[dict[str, Any]]:
    """expected.json: the cases in ingestion order."""
    path = CORPUS / "expected.json"
    if not path.exists():
        pytest.fail("tests/fixtures/email/expected.json is missing (the parser corpus)")
    return list(json.loads(path.read_text()))


@dataclass
class DeskDatabase:
    """A migrated database of its own, for manage.py subprocesses."""

    url: str
    vendor: str
    workdir: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_IMAP", "CELERY_", "REDIS_URL"))}
        env.update(
            DATABASE_URL=self.url,
            DESK_VAR_DIR=str(self.workdir / "var"),
            PRIVATE_STORAGE_ROOT=str(self.workdir / "private"),
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            DESK_LOCMEM_CACHE="1",
            LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="config.settings",
            PYTHONPATH=str(ROOT),
            DB_CONN_MAX_AGE="0",
        )
        env.update(extra)
        return env

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return list(conn.execute(sql, params).fetchall())
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.query(sql, params)[0][0]


def manage(*args: str, env: dict[str, str], input: bytes | None = None, timeout: float = 300,
           ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, input=input,
                          capture_output=True, timeout=timeout, cwd=ROOT, check=False)


def _pg_admin_url(name: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskDatabase]:
    """One migrated database per session; each test gets a copy (migrating is the slow part)."""
    workdir = tmp_path_factory.mktemp("desk-template")
    vendor = connection.vendor
    if vendor == "postgresql":
        import psycopg

        name = f"pd_intake_tpl_{os.getpid()}"
        with psycopg.connect(_pg_admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        template = DeskDatabase(_pg_admin_url(name), "postgresql", workdir)
    else:
        template = DeskDatabase(f"sqlite:///{workdir / 'template.sqlite3'}", "sqlite", workdir)
    result = manage("migrate", "--no-input", "--skip-checks", "-v0", env=template.env())
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    yield template
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(_pg_admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def desk_database(_template_database: DeskDatabase, tmp_path: Path) -> Iterator[DeskDatabase]:
    """A fresh, migrated, empty desk database of the vendor under test, for subprocesses."""
    if _template_database.vendor == "sqlite":
        path = tmp_path / "desk.sqlite3"
        shutil.copy(_template_database.url.removeprefix("sqlite:///"), path)
        yield DeskDatabase(f"sqlite:///{path}", "sqlite", tmp_path)
        return
    import psycopg

    template_name = _template_database.url.rsplit("/", 1)[1]
    name = f"pd_intake_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_pg_admin_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield DeskDatabase(_pg_admin_url(name), "postgresql", tmp_path)
    with psycopg.connect(_pg_admin_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def dovecot() -> dict[str, Any]:
    """A real Dovecot on 127.0.0.1 (started by .ci/dovecot.sh; skipped locally if not installed)."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    require(binary is not None, "dovecot is not installed (apt-get install dovecot-imapd)")
    result = subprocess.run(["bash", str(DOVECOT_SCRIPT)], capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    return {"host": "127.0.0.1", "port": IMAP_PORT, "user": IMAP_USER, "password": IMAP_PASSWORD}


@pytest.fixture
def imap_folder(dovecot: dict[str, Any]) -> Iterator[Callable[[list[bytes]], str]]:
    """Create a fresh IMAP folder and APPEND messages to it; the folder is deleted afterwards."""
    import imaplib

    created: list[str] = []

    def make(messages: list[bytes]) -> str:
        folder = f"pdtest-{uuid.uuid4().hex[:8]}"
        client = imaplib.IMAP4(dovecot["host"], dovecot["port"])
        client.login(dovecot["user"], dovecot["password"])
        assert client.create(folder)[0] == "OK"
        created.append(folder)
        for raw in messages:
            status, _ = client.append(folder, None, None, crlf(raw))
            assert status == "OK"
        client.logout()
        return folder

    yield make
    client = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    client.login(dovecot["user"], dovecot["password"])
    for folder in created:
        client.delete(folder)
    client.logout()


def crlf(raw: bytes) -> bytes:
    """IMAP APPEND wants CRLF line ends."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
