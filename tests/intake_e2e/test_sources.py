"""Maildir / drop-folder source, the mailbox poll lock and the Celery task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from helpdesk.intake import batch, tasks
from helpdesk.intake.ingest import Outcome
from helpdesk.intake.sources import PollLocked, mailbox_poll_lock, poll_maildir
from helpdesk.models import Message, Ticket
from tests.intake_e2e.conftest import CORPUS
from tests.intake_e2e.mailgen import generate


def _maildir(root: Path, names: list[str]) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, name in enumerate(names):
        (root / "new" / f"1767600000.{n}.host").write_bytes((CORPUS / name).read_bytes())
    return root


@pytest.mark.django_db
def test_maildir_files_then_moves_to_cur(tmp_path: Path) -> None:
    root = _maildir(tmp_path / "Maildir", ["001_plain_utf8_korean.eml", "022_reply_in_reply_to.eml",
                                           "049_garbage_bytes.eml"])
    report = poll_maildir(root)
    assert [r.outcome for _s, r in report.results] == [Outcome.NEW_TICKET, Outcome.NEW_TICKET, Outcome.QUARANTINED]
    assert list((root / "new").iterdir()) == []
    assert sorted(p.name for p in (root / "cur").iterdir()) == [
        "1767600000.0.host:2,S", "1767600000.1.host:2,S", "1767600000.2.host:2,S"]
    assert poll_maildir(root).count == 0


@pytest.mark.django_db
def test_a_maildir_backlog_is_filed_in_order_batch_by_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mails = generate(250, run="backlog")
    root = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, raw in enumerate(mails):
        (root / "new" / f"1767600000.{n:04d}.host").write_bytes(raw)
    monkeypatch.setattr(batch, "BATCH_SIZE", 100)  # three batches of this backlog
    report = poll_maildir(root)
    assert report.count == 250 and not report.errors
    assert [Path(source).name for source, _ in report.results] == [f"1767600000.{n:04d}.host" for n in range(250)]
    assert len(list((root / "cur").iterdir())) == 250
    assert Message.objects.filter(direction="inbound").count() == 250
    for n, raw in enumerate(mails):  # each stored as the mail it came from
        message_id = raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
        assert Message.objects.filter(message_id=message_id).count() == 1, n


@pytest.mark.django_db
def test_drop_folder_moves_to_done_and_a_crash_before_the_move_duplicates_nothing(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    raw = (CORPUS / "001_plain_utf8_korean.eml").read_bytes()
    (drop / "a.eml").write_bytes(raw)
    first = poll_maildir(drop)
    assert first.results[0][1].outcome == Outcome.NEW_TICKET
    assert (drop / "done" / "a.eml").read_bytes() == raw
    # As if a crash had happened after the commit but before the move: the file is back.
    (drop / "a.eml").write_bytes(raw)
    again = poll_maildir(drop)
    assert again.results[0][1].outcome == Outcome.DUPLICATE
    assert Ticket.objects.count() == 1 and Message.objects.filter(direction="inbound").count() == 1


@pytest.mark.django_db
def test_ingest_maildir_command(tmp_path: Path, capsys: Any) -> None:
    from django.core.management import call_command

    root = _maildir(tmp_path / "Maildir", ["001_plain_utf8_korean.eml"])
    call_command("ingest_maildir", str(root))
    out = capsys.readouterr().out
    assert '"outcome": "new_ticket"' in out


@pytest.mark.django_db(transaction=True)
def test_only_one_poll_at_a_time(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.DESK_IMAP_HOST = "127.0.0.1"
    settings.DESK_IMAP_PORT = 1  # never reached while another poll holds the lock
    if connection.vendor == "postgresql":
        # Another process's session (another beat or cron poll) holds the advisory lock.
        import psycopg

        db = connection.settings_dict
        url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        with psycopg.connect(url, autocommit=True) as other:
            row = other.execute("SELECT pg_try_advisory_lock(%s)", [0x5052_4956_494E]).fetchone()
            assert row is not None and row[0] is True
            with pytest.raises(PollLocked), mailbox_poll_lock():
                pass
            assert tasks.poll_mailbox() == {"status": "locked"}
            # Unlock explicitly: a closing session frees its locks asynchronously.
            other.execute("SELECT pg_advisory_unlock(%s)", [0x5052_4956_494E])
    else:
        with mailbox_poll_lock():
            with pytest.raises(PollLocked), mailbox_poll_lock():
                pass
            assert tasks.poll_mailbox() == {"status": "locked"}
    # Released: it can be taken again.
    with mailbox_poll_lock():
        pass


def test_task_is_registered_and_scheduled_only_with_imap(settings: Any) -> None:
    from config.celery import app

    app.loader.import_default_modules()
    assert "helpdesk.intake.tasks.poll_mailbox" in app.tasks
    settings.DESK_IMAP_HOST = ""
    assert tasks.poll_mailbox() == {"status": "not_configured"}
    import subprocess
    import sys

    code = ("import os; os.environ['DESK_IMAP_HOST']={!r}; from config import settings as s; "
            "print('poll-mailbox' in s.CELERY_BEAT_SCHEDULE)")
    for host, expected in (("imap.example.com", "True"), ("", "False")):
        out = subprocess.run([sys.executable, "-c", code.format(host)], capture_output=True, text=True,
                             check=True, cwd=Path(__file__).resolve().parents[2]).stdout.strip()
        assert out == expected
