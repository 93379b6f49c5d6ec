"""``manage.py poll_mailbox``: file new mail from the IMAP mailbox (or ``--maildir PATH``), for cron.

Prints one JSON line per message, like ``ingest_email``. Exit 0 when the poll ran (or another poll
already holds the lock), 75 when the database or the IMAP server failed (cron runs it again).
"""

from __future__ import annotations

import contextlib
import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from helpdesk.intake.ingest import IngestResult
from helpdesk.intake.sources import (
    ImapSettings,
    PollLocked,
    PollReport,
    imap_settings,
    mailbox_errors,
    mailbox_poll_lock,
    poll_imap,
    poll_maildir,
)

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Poll the privacy mailbox (IMAP, from settings) or a maildir/drop folder and file new mail."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--maildir", type=Path, help="file mail from this maildir or drop folder instead")
        parser.add_argument("--folder", help="IMAP folder to poll (default: DESK_IMAP_FOLDER)")
        parser.add_argument("--limit", type=int, help="file at most this many messages in this run")
        parser.add_argument("--quiet", action="store_true", help="no JSON lines, only the summary on stderr")

    def handle(self, *args: Any, maildir: Path | None, folder: str | None, limit: int | None, quiet: bool,
               **options: Any) -> None:
        out = sys.stdout

        def emit(source: str, result: IngestResult) -> None:
            if not quiet:
                out.write(json.dumps(result.as_dict(source)) + "\n")
                out.flush()

        config: ImapSettings | None = None
        if maildir is None:
            config = imap_settings()
            if config is None:
                raise CommandError("IMAP is not configured (set DESK_IMAP_HOST) and no --maildir was given.")
            if folder:
                config = ImapSettings(**{**config.__dict__, "folder": folder})
        try:
            with contextlib.redirect_stdout(sys.stderr), mailbox_poll_lock():
                if maildir is not None:
                    report = poll_maildir(maildir, limit=limit, on_result=emit)
                else:
                    assert config is not None
                    report = poll_imap(config, limit=limit, on_result=emit)
        except PollLocked as exc:
            sys.stderr.write(f"poll_mailbox: skipped, {exc}\n")
            return
        except FileNotFoundError as exc:
            raise CommandError(str(exc), returncode=64) from exc
        except mailbox_errors() as exc:  # IMAP server unreachable, login refused, connection lost
            sys.stderr.write(f"poll_mailbox: mailbox error: {exc}\n")
            raise SystemExit(EX_TEMPFAIL) from exc
        self._summary(report)
        if report.transient_error:
            raise SystemExit(EX_TEMPFAIL)

    def _summary(self, report: PollReport) -> None:
        for source, error in report.errors:
            sys.stderr.write(f"poll_mailbox: {source}: {error}\n")
        sys.stderr.write(f"poll_mailbox: {report.count} message(s) filed, {len(report.errors)} error(s)"
                         + (f", stopped: {report.transient_error}" if report.transient_error else "") + "\n")
