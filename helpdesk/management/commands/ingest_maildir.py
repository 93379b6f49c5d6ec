"""``manage.py ingest_maildir PATH``: file mail from a maildir (``new/`` → ``cur/``) or a drop folder
(files → ``done/``), moving each message only after it is filed. Same as ``poll_mailbox --maildir``.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "File mail from a maildir or drop folder; each file is moved away only after it is filed."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--limit", type=int)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, path: Path, limit: int | None, quiet: bool, **options: Any) -> None:
        call_command("poll_mailbox", maildir=path, limit=limit, quiet=quiet)
