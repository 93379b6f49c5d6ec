"""Mailbox sources: an IMAP folder and a maildir / drop folder, both fed to :func:`ingest_messages`.

Messages are filed in batches (``helpdesk.intake.batch``: the one-message outcomes, in bulk). The
rule for both sources: a message is marked processed at its source (IMAP flag or move; file renamed
into ``cur/`` or ``done/``) only AFTER its outcome is committed. A crash at
any point therefore loses nothing — the unmarked message is simply read again on the next run —
and the rerun duplicates nothing, because the dedupe keys make the second filing a ``duplicate``.
One message that cannot be read or marked is logged and skipped; it never blocks the others. A
database fault (:class:`TransientIngestError`) stops the run: every later message would fail too.
"""

from __future__ import annotations

import fcntl
import imaplib
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

from helpdesk.intake.batch import in_batches, ingest_messages
from helpdesk.intake.ingest import IngestResult, TransientIngestError

logger = logging.getLogger(__name__)

__all__ = [
    "ImapSettings",
    "PollReport",
    "imap_settings",
    "mailbox_errors",
    "mailbox_poll_lock",
    "poll_imap",
    "poll_maildir",
]

OnResult = Callable[[str, IngestResult], None]
# (source, raw bytes, how to mark it processed at the source)
# (raw mail, source, mark it processed): the raw bytes first, as in_batches() bounds a batch by them.
_Waiting = tuple[bytes, str, Callable[[], None]]


@dataclass
class PollReport:
    """What one poll did: results per source id, errors that were skipped, whether it stopped early."""

    results: list[tuple[str, IngestResult]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    transient_error: str | None = None

    @property
    def count(self) -> int:
        return len(self.results)


# --- IMAP -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # "ssl" | "starttls" | "none"
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = ""
    keyword: str = "$PrivacyDeskFiled"
    timeout: int = 60


def imap_settings() -> ImapSettings | None:
    """The IMAP mailbox from settings, or None when ``DESK_IMAP_HOST`` is not set."""
    if not settings.DESK_IMAP_HOST:
        return None
    return ImapSettings(
        host=settings.DESK_IMAP_HOST,
        port=settings.DESK_IMAP_PORT,
        security=settings.DESK_IMAP_SECURITY,
        user=settings.DESK_IMAP_USER,
        password=settings.DESK_IMAP_PASSWORD,
        folder=settings.DESK_IMAP_FOLDER,
        processed_folder=settings.DESK_IMAP_PROCESSED_FOLDER,
        keyword=settings.DESK_IMAP_KEYWORD,
        timeout=settings.DESK_IMAP_TIMEOUT,
    )


def _connect(config: ImapSettings) -> Any:
    if config.security == "ssl":
        return MailBox(config.host, config.port, timeout=config.timeout)
    if config.security == "starttls":
        return MailBoxStartTls(config.host, config.port, timeout=config.timeout)
    if config.security == "none":
        return MailBoxUnencrypted(config.host, config.port, timeout=config.timeout)
    raise ValueError(f"DESK_IMAP_SECURITY must be ssl, starttls or none, not {config.security!r}")


_FETCH_UID = re.compile(rb"UID (\d+)")


def _fetch_raw(client: object, uid: str) -> bytes | None:
    """The message's exact bytes (BODY.PEEK[] leaves \\Seen alone until we have filed it)."""
    status, data = client.uid("FETCH", uid, "(UID BODY.PEEK[])")  # type: ignore[attr-defined]
    if status != "OK":
        raise OSError(f"FETCH {uid} failed: {status}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            match = _FETCH_UID.search(item[0])
            if match is None or match.group(1).decode() == uid:
                return bytes(item[1])
    return None  # expunged meanwhile


def poll_imap(config: ImapSettings, *, limit: int | None = None, on_result: OnResult | None = None) -> PollReport:
    """File every message in the folder not yet marked processed; mark each after it commits."""
    report = PollReport()
    with _connect(config) as mailbox:
        mailbox.login(config.user, config.password, initial_folder=config.folder)
        # Messages filed before carry our keyword (or were moved away): skip them server-side.
        uids = mailbox.uids(AND(no_keyword=config.keyword))
        if limit is not None:
            uids = uids[:limit]

        _file_in_batches(_imap_messages(config, mailbox, uids, report), report, on_result)
    return report


def _imap_messages(config: ImapSettings, mailbox: Any, uids: list[str], report: PollReport) -> Iterator[_Waiting]:
    for uid in uids:
        source = f"imap:{config.folder}/{uid}"
        try:
            raw = _fetch_raw(mailbox.client, uid)
        except (OSError, imaplib.IMAP4.error) as exc:
            report.errors.append((source, f"fetch failed: {exc}"))
            logger.warning("IMAP fetch of %s failed: %s", source, exc)
            if isinstance(exc, (socket.timeout, ConnectionError, imaplib.IMAP4.abort)):
                raise  # the connection is gone; the next poll picks up the rest
            continue
        if raw is None:
            continue
        if config.processed_folder:
            yield raw, source, partial(mailbox.move, uid, config.processed_folder)
        else:
            yield raw, source, partial(mailbox.flag, uid, ("\\Seen", config.keyword), True)


def _file_in_batches(messages: Iterator[_Waiting], report: PollReport, on_result: OnResult | None) -> None:
    """File messages batch by batch; stop at a database fault."""
    for batch in in_batches(messages):
        if not _file_and_mark(batch, report, on_result):
            return


def _file_and_mark(waiting: list[_Waiting], report: PollReport, on_result: OnResult | None) -> bool:
    """File a batch, marking each message processed only once its outcome is committed.

    Returns False when a database fault stopped it (every later message would fail too).
    """
    done = 0
    try:
        for result in ingest_messages([(raw, source) for raw, source, _ in waiting]):
            _, source, mark = waiting[done]
            done += 1
            # Committed: only now mark it, so a crash before this line means "read again".
            try:
                mark()
            except Exception as exc:  # filed but unmarked: the next poll sees a duplicate, harmless
                report.errors.append((source, f"marking failed: {exc}"))
                logger.warning("could not mark %s processed: %s", source, exc)
            report.results.append((source, result))
            if on_result is not None:
                on_result(source, result)
    except TransientIngestError as exc:
        report.transient_error = str(exc)
        logger.error("database fault while filing %s; stopping: %s", waiting[done][1], exc)
        return False
    return True


# --- Maildir / drop folder ------------------------------------------------------------------
def _maildir_entries(root: Path) -> Iterator[tuple[Path, Path]]:
    """(file, destination) pairs: maildir ``new/`` → ``cur/<name>:2,S``; a plain folder → ``done/``."""
    if (root / "new").is_dir() and (root / "cur").is_dir():
        for path in sorted((root / "new").iterdir()):
            if path.is_file() and not path.name.startswith("."):
                name = path.name if ":2," in path.name else f"{path.name}:2,S"
                yield path, root / "cur" / name
        return
    done = root / "done"
    for path in sorted(root.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            yield path, done / path.name


def poll_maildir(root: Path, *, limit: int | None = None, on_result: OnResult | None = None) -> PollReport:
    """File every waiting message file under ``root``; move each away only after it commits."""
    report = PollReport()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    _file_in_batches(_maildir_messages(root, limit, report), report, on_result)
    return report


def _maildir_messages(root: Path, limit: int | None, report: PollReport) -> Iterator[_Waiting]:
    for count, (path, destination) in enumerate(_maildir_entries(root)):
        if limit is not None and count >= limit:
            return
        try:
            raw = path.read_bytes()
        except OSError as exc:  # e.g. taken by another reader meanwhile
            report.errors.append((str(path), f"read failed: {exc}"))
            continue
        yield raw, str(path), partial(_move, path, destination)


def _move(path: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, destination)


# --- One poller at a time -------------------------------------------------------------------
_LOCK_KEY = 0x5052_4956_494E  # "PRIVIN": the advisory-lock id for mailbox polling


def mailbox_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the IMAP server failed" (unreachable, login refused, connection lost)."""
    return (OSError, imaplib.IMAP4.error, ImapToolsError)


class PollLocked(Exception):
    """Another poll of the mailbox is running."""


@contextmanager
def mailbox_poll_lock() -> Iterator[None]:
    """Hold a lock that only one mailbox poller in the installation can hold.

    PostgreSQL: a session advisory lock (released by the server if the process dies). SQLite:
    ``flock`` on a file beside the database (one host by nature; released by the kernel on death).
    Raises :class:`PollLocked` at once when it is taken: beat simply tries again next minute.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise PollLocked("another mailbox poll holds the database lock")
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
            except Exception:  # connection lost: the server already released the lock
                connection.close()
        return
    name = str(connection.settings_dict.get("NAME") or "")
    lock_path = Path(f"{name}.poll.lock") if name and ":memory:" not in name and "mode=memory" not in name \
        else Path(settings.VAR_DIR) / "poll_mailbox.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PollLocked("another mailbox poll holds the lock file") from exc
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {time.time():.0f}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
