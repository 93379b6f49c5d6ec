"""Issue 29: what an MTA's pipe transport sees — the output it logs and the wrapper it runs.

Postfix keeps about 100 characters of a pipe command's output for its log: ``ingest_email`` prints
its JSON line and nothing else (no start-up logging, no log records), and on failure one short line.
``deploy/privacy-desk-ingest`` reads the environment file and ``exec``s Python, so the MTA sees
Python's own exit status and a death by signal, never the shell's 137. Real processes throughout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.intake_e2e.conftest import ROOT, DeskDatabase, manage

WRAPPER = ROOT / "deploy" / "privacy-desk-ingest"


def _mail(n: int, subject: str, extra: str = "") -> bytes:
    return (f"From: Caller {n} <caller{n}@example.net>\nTo: micube@micube.co.kr\nSubject: {subject}\n"
            f"Message-ID: <pipe-{n}@example.net>\nDate: Mon, 07 Dec 2026 10:00:00 +0900\n{extra}MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n통화 기록을 보여 주세요.\n").encode()


def _production_like(desk_database: DeskDatabase, **extra: str) -> dict[str, str]:
    env = desk_database.env(**extra)
    env.pop("LOG_LEVEL", None)  # the default (INFO), as in production
    return env


@pytest.mark.parametrize(("subject", "extra", "outcome", "reason"), [
    ("부재중 전화 기록 열람 요청", "", "new_ticket", None),
    ("ARS 자동응답 통화 녹취 삭제 요청", "", "new_ticket", None),
    ("Re: 휴가", "Auto-Submitted: auto-replied\n", "ignored_auto", "auto_submitted"),
])
def test_ingest_email_prints_its_json_line_and_nothing_else(desk_database: DeskDatabase, subject: str, extra: str,
                                                            outcome: str, reason: str | None) -> None:
    result = manage("ingest_email", env=_production_like(desk_database), input=_mail(1, subject, extra))
    assert result.returncode == 0
    assert result.stderr == b""  # no "AXES: BEGIN …", no log records, no acknowledgement mail
    (line,) = result.stdout.decode().splitlines()
    parsed = json.loads(line)
    assert (parsed["outcome"], parsed["reason"]) == (outcome, reason)
    assert result.stdout == (json.dumps(parsed) + "\n").encode()


def test_on_failure_one_short_line(desk_database: DeskDatabase, tmp_path: Path) -> None:
    gone = f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"
    result = manage("ingest_email", env=_production_like(desk_database, DATABASE_URL=gone), input=_mail(2, "x"))
    assert result.returncode == 75 and result.stdout == b""
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("ingest_email: temporary failure") and len(line) <= 200
    usage = manage("ingest_email", "--no-such-option", env=_production_like(desk_database))
    assert usage.returncode == 64 and usage.stdout == b""
    assert len(usage.stderr.decode().splitlines()) == 1


def _env_file(desk_database: DeskDatabase, tmp_path: Path) -> Path:
    lines = ["# the desk's environment file, systemd EnvironmentFile format", ""]
    for key, value in desk_database.env().items():
        if key.startswith(("DATABASE_URL", "DESK_", "PRIVATE_", "EMAIL_", "DB_")):
            lines.append(f'{key}="{value}"' if " " in value else f"{key}={value}")
    path = tmp_path / "privacy-desk.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def _wrapper_env(env_file: Path) -> dict[str, str]:
    # Only what the MTA gives a pipe command: no DATABASE_URL here, the wrapper reads it from the file.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DESK_ENV_FILE": str(env_file),
            "DESK_HOME": str(ROOT), "DESK_PYTHON": sys.executable}


def test_the_wrapper_files_a_mail_from_standard_input(desk_database: DeskDatabase, tmp_path: Path) -> None:
    env_file = _env_file(desk_database, tmp_path)
    result = subprocess.run([str(WRAPPER)], input=_mail(3, "개인정보 열람 요청"), env=_wrapper_env(env_file),
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    assert json.loads(result.stdout)["outcome"] == "new_ticket"
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == 1


def test_the_wrapper_defers_when_its_environment_file_is_missing(tmp_path: Path) -> None:
    result = subprocess.run([str(WRAPPER)], input=_mail(4, "x"), env=_wrapper_env(tmp_path / "missing.env"),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 75 and result.stdout == b""


def test_the_wrapper_defers_when_it_cannot_run_the_interpreter(desk_database: DeskDatabase, tmp_path: Path) -> None:
    # Without the check, the shell's failed exec is exit 126 and Postfix bounces the mail to the requester.
    env = {**_wrapper_env(_env_file(desk_database, tmp_path)), "DESK_PYTHON": str(tmp_path / "no-python")}
    result = subprocess.run([str(WRAPPER)], input=_mail(5, "x"), env=env, capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == 75 and result.stdout == b""
    assert result.stderr.decode().strip().endswith("(deferred)") and len(result.stderr.splitlines()) == 1


def test_the_wrapper_execs_python_so_a_killed_run_is_a_signal_not_exit_137(desk_database: DeskDatabase,
                                                                         tmp_path: Path) -> None:
    env_file = _env_file(desk_database, tmp_path)
    process = subprocess.Popen([str(WRAPPER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=_wrapper_env(env_file))
    try:
        # The process the MTA started becomes Python itself (still waiting for the mail on stdin).
        cmdline = b""
        for _ in range(200):
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
            if b"ingest_email" in cmdline:
                break
            time.sleep(0.05)
        assert b"manage.py" in cmdline and b"ingest_email" in cmdline
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    # A death by signal, which Postfix defers and retries; a shell around it would report 137.
    assert process.returncode == -signal.SIGKILL
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") == 0
