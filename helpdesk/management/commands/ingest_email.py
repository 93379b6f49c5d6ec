"""``manage.py ingest_email [FILE ...]``: the MTA pipe target (contract in ARCHITECTURE.md).

One RFC 5322 message per FILE, or one from standard input when no FILE (or ``-``) is given. Prints
one JSON object per message on its own line: ``{"source", "outcome", "ticket", "reason"}``, once
that message is committed. One mail (what an MTA pipes) goes straight to ``ingest_message``; many
FILEs are filed in batches (``helpdesk.intake.batch``), with the outcomes one-at-a-time filing
would give.

Exit status (sysexits.h, what Postfix ``pipe`` and procmail understand):
  0   every message was taken (any outcome, quarantine included);
  75  EX_TEMPFAIL: a transient fault (database unreachable) stopped the run; the message being
      filed was rolled back, so the MTA may safely deliver it again later;
  64  EX_USAGE: bad arguments or an unreadable FILE (nothing is ingested when a FILE given on the
      command line is missing or unreadable).

Nothing else is printed: an MTA keeps only the first ~100 characters of a pipe command's output for
its log, so that is the JSON line, or on failure one short line on stderr (issue 29). Logging is off
on this path unless ``DESK_INGEST_LOG_LEVEL`` names a level (e.g. ``INFO``, to debug by hand); what
intake decided stays visible on the desk (tickets, the quarantine list and its "ignored" view).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from argparse import ArgumentParser
from collections.abc import Iterator
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from helpdesk.intake.batch import in_batches, ingest_messages
from helpdesk.intake.ingest import TransientIngestError, ingest_message

EX_OK = 0
EX_USAGE = 64
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "File e-mail messages (files or standard input) as tickets; one JSON line per message."
    # Started once per message by an MTA: skip the system checks, they cost startup time.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def usage_error(message: str) -> NoReturn:
            _fail(EX_USAGE, f"usage: {message}")

        parser.error = usage_error  # type: ignore[method-assign]  # argparse's default exits 2
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="*", metavar="FILE",
                            help="message files; '-' or none reads one message from standard input")

    def handle(self, *args: Any, files: list[str], **options: Any) -> None:
        with _quiet_logging():
            self._handle(files)

    def _handle(self, files: list[str]) -> None:
        sources = files or ["-"]
        if sources.count("-") > 1:
            _fail(EX_USAGE, "standard input ('-') can be given only once")
        for path in sources:
            if path != "-" and not (os.path.isfile(path) and os.access(path, os.R_OK)):
                _fail(EX_USAGE, f"cannot read {path!r}: not a readable file")
        out = sys.stdout
        # stdout carries the JSON lines only: anything else (e.g. the console mail backend
        # delivering an acknowledgement in-process) goes to stderr.
        unreadable: list[str] = []

        def read_all() -> Iterator[tuple[bytes, str]]:
            for path in sources:
                try:
                    yield (sys.stdin.buffer.read() if path == "-" else _read(path)), path
                except OSError as exc:  # what was read before it is still filed
                    unreadable.append(f"cannot read {path!r}: {exc.strerror or exc}")
                    return

        with contextlib.redirect_stdout(sys.stderr):
            for batch in in_batches(read_all()):
                self._file(batch, out)
        if unreadable:
            _fail(EX_USAGE, unreadable[0])

    def _file(self, batch: list[tuple[bytes, str]], out: Any) -> None:
        """File a batch; a line per message once it is committed, in order. One mail (an MTA's pipe)
        goes straight to the one-message path."""
        done = 0
        try:
            one = len(batch) == 1
            for result in [ingest_message(batch[0][0], source=batch[0][1])] if one else ingest_messages(batch):
                out.write(json.dumps(result.as_dict(batch[done][1])) + "\n")
                out.flush()
                done += 1
        except TransientIngestError as exc:
            path = batch[done][1]
            _fail(EX_TEMPFAIL, f"temporary failure, nothing stored ({path}): {exc}")


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """No log output on the MTA's path, unless DESK_INGEST_LOG_LEVEL asks for it."""
    level = os.environ.get("DESK_INGEST_LOG_LEVEL", "").strip().upper()
    root = logging.getLogger()
    before = root.level
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    else:
        logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        root.setLevel(before)


def _fail(status: int, message: str) -> NoReturn:
    """One short line on stderr (an MTA logs the first ~100 characters of it), then exit."""
    line = " ".join(f"ingest_email: {message}".split())
    sys.stderr.write((line if len(line) <= 200 else line[:199] + "…") + "\n")
    sys.stderr.flush()
    raise SystemExit(status)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
