"""The ingest command contract (ARCHITECTURE.md): JSON lines, exit 0 / 64 / 75, nothing half-written.

These run ``manage.py ingest_email`` as a real process against a database of its own.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from django.db import connection

from tests.intake_e2e.conftest import CORPUS, DeskDatabase, manage

KEYS = {"source", "outcome", "ticket", "reason"}


def _lines(stdout: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.decode().splitlines()]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


def _message(n: int, *, attachment: bool = False) -> bytes:
    head = (f"From: Person {n} <person{n}@example.com>\nTo: micube@micube.co.kr\nSubject: 개인정보 삭제 요청 {n}\n"
            f"Message-ID: <cmd-{n}@example.com>\nDate: Thu, 08 Jan 2026 10:00:00 +0900\nMIME-Version: 1.0\n")
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\n\n제 정보를 삭제해 주세요.\n").encode()
    return (head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n'
            "첨부합니다.\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=id.pdf\n"
            "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJSVFT0YK\n--b--\n").encode()


def test_a_backlog_of_more_than_one_batch_gives_json_lines_only(desk_database: DeskDatabase,
                                                                tmp_path: Path) -> None:
    """More than one batch: anything else the run prints goes to stderr, never stdout."""
    files = []
    for n in range(260):
        path = tmp_path / f"{n:03d}.eml"
        path.write_bytes(_message(n, attachment=n % 5 == 0) if n % 50 else b"\x00\x01 not mail")
        files.append(str(path))
    result = manage("ingest_email", *files, env=desk_database.env(), timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    lines = _lines(result.stdout)  # every line is JSON
    assert [line["source"] for line in lines] == files
    assert sum(line["outcome"] == "new_ticket" for line in lines) == 260 - 6
    assert sum(line["outcome"] == "quarantined" for line in lines) == 6
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_attachment") == 52 - 6  # every fifth, not the junk
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_message WHERE direction = 'inbound'") == 254


def test_files_give_one_json_line_each_and_exit_0(desk_database: DeskDatabase, tmp_path: Path) -> None:
    files = [CORPUS / "001_plain_utf8_korean.eml", CORPUS / "049_garbage_bytes.eml"]
    dup = tmp_path / "again.eml"
    dup.write_bytes(files[0].read_bytes())
    result = manage("ingest_email", *map(str, files), str(dup), env=desk_database.env())
    assert result.returncode == 0, result.stderr.decode()
    lines = _lines(result.stdout)
    assert [set(line) for line in lines] == [KEYS] * 3
    assert [line["source"] for line in lines] == [*map(str, files), str(dup)]
    assert lines[0]["outcome"] == "new_ticket" and str(lines[0]["ticket"]).startswith("PRIV-")
    assert lines[0]["reason"] is None
    assert lines[1] == {"source": str(files[1]), "outcome": "quarantined", "ticket": None, "reason": "unparseable"}
    assert lines[2]["outcome"] == "duplicate" and lines[2]["ticket"] == lines[0]["ticket"]
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == 1
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_quarantine") == 1


def test_stdin_when_no_file_or_dash(desk_database: DeskDatabase) -> None:
    raw = (CORPUS / "002_euckr_declared.eml").read_bytes()
    first = manage("ingest_email", env=desk_database.env(), input=raw)
    assert first.returncode == 0, first.stderr.decode()
    assert _lines(first.stdout)[0]["source"] == "-"
    assert _lines(first.stdout)[0]["outcome"] == "new_ticket"
    second = manage("ingest_email", "-", env=desk_database.env(), input=raw)
    assert second.returncode == 0
    assert _lines(second.stdout)[0]["outcome"] == "duplicate"


def test_unreadable_file_is_a_usage_error_and_nothing_is_ingested(desk_database: DeskDatabase,
                                                                  tmp_path: Path) -> None:
    result = manage("ingest_email", str(CORPUS / "001_plain_utf8_korean.eml"), str(tmp_path / "missing.eml"),
                    env=desk_database.env())
    assert result.returncode == 64
    assert result.stdout == b""
    assert b"missing.eml" in result.stderr
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == 0
    assert manage("ingest_email", "--no-such-option", env=desk_database.env()).returncode == 64
    assert manage("ingest_email", "-", "-", env=desk_database.env(), input=b"").returncode == 64
    assert manage("ingest_email", str(tmp_path), env=desk_database.env()).returncode == 64  # a directory


@pytest.mark.parametrize("kind", ["postgres-closed-port", "sqlite-no-directory"])
def test_unreachable_database_exits_75(kind: str, desk_database: DeskDatabase, tmp_path: Path) -> None:
    url = (f"postgres://postgres@127.0.0.1:{_closed_port()}/pd_intake_gone" if kind == "postgres-closed-port"
           else f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3")
    message = tmp_path / "m.eml"
    message.write_bytes(_message(1))
    result = manage("ingest_email", str(message), env=desk_database.env(DATABASE_URL=url), timeout=60)
    assert result.returncode == 75, result.stderr.decode()[-2000:]
    assert result.stdout == b""  # no outcome claimed for a message that was not taken
    assert b"temporary failure" in result.stderr


@pytest.mark.postgres
def test_connection_killed_mid_message_exits_75_with_nothing_half_written(desk_database: DeskDatabase,
                                                                          tmp_path: Path) -> None:
    """The server kills the session while a ticket is half inserted: exit 75, that message rolled back."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    desk_database.query("""
        CREATE FUNCTION pd_kill_me() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
        CREATE TRIGGER pd_kill_on_attachment BEFORE INSERT ON helpdesk_attachment
        FOR EACH ROW EXECUTE FUNCTION pd_kill_me();
    """)
    files = []
    for n, attachment in ((1, False), (2, True), (3, False)):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(_message(n, attachment=attachment))
        files.append(str(path))
    result = manage("ingest_email", *files, env=desk_database.env(), timeout=60)
    assert result.returncode == 75, result.stderr.decode()[-2000:]
    lines = _lines(result.stdout)
    assert [line["source"] for line in lines] == [files[0]]  # only the committed one is reported
    # Message 2 had its ticket, requester, audit events and message row inserted when the session died:
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == 1
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_message WHERE dedupe_key = 'mid:cmd-2@example.com'") == 0
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_requester WHERE email = 'person2@example.com'") == 0

    desk_database.query("DROP TRIGGER pd_kill_on_attachment ON helpdesk_attachment")
    retry = manage("ingest_email", *files, env=desk_database.env(), timeout=60)
    assert retry.returncode == 0, retry.stderr.decode()[-2000:]
    assert [line["outcome"] for line in _lines(retry.stdout)] == ["duplicate", "new_ticket", "new_ticket"]
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_attachment") == 1
