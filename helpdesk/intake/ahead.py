"""Intake's helper process: it parses the next batch of mail, and writes this batch's attachment
files, while this process writes the batch's rows (raw mail is rows too, see
:mod:`helpdesk.models.stored_files`).

Writing a batch waits on the database and the disk; parsing is pure CPU (about a sixth of a bulk
run) and creating files waits on the file system (up to 0.8 ms a file on a busy disk). A helper
*process* does both on another core. Threads were tried and were slower: after every database
round trip the writing thread waited for the other to hand back the GIL.

The helper is a freshly spawned interpreter (not a fork of this one, which holds database
connections and maybe threads) running :mod:`helpdesk.intake.helper`, which imports only the pure
parser. Until it has started (~0.2 s) this process parses and writes everything itself, so a short
run never waits for it; with a single batch (≤ ``BATCH_SIZE`` mails, e.g. one MTA delivery) none is
started. Files it writes exist before the rows naming them are committed (the transaction waits
for its answer, :func:`helpdesk.services.files_written_by`); if it fails in any way, the
transaction rolls back and its mails are filed one at a time here, and later batches are parsed
and written here. A failure of the helper cannot lose or change a mail.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from django.conf import settings

import helpdesk
import helpdesk.intake
from helpdesk.intake.decide import Quarantine
from helpdesk.intake.email.many import Unparsed
from helpdesk.intake.email.parser import ParsedEmail
from helpdesk.intake.ingest import intake_config, parse, verdict
from helpdesk.newfile import write_new_file
from helpdesk.services.files import FileWriter

logger = logging.getLogger(__name__)

__all__ = ["parsed_ahead"]

T = TypeVar("T", bound=tuple[Any, ...])
Parsed = list[ParsedEmail | Quarantine]


def parsed_ahead(batches: Iterable[list[T]]) -> Iterator[tuple[list[T], Parsed, FileWriter | None]]:
    """Each ``[(raw, source, …), …]`` batch with its mails parsed, in order, and the helper to hand
    the batch's new files to (``None``: write them here).

    From the second batch on, the next batch is parsed by the helper process while the caller
    works on the one yielded. The helper needs ``settings.DESK_INTAKE_PARSE_AHEAD`` (on by default)
    and a machine with more than one CPU.
    """
    iterator = iter(batches)
    current = next(iterator, None)
    upcoming, failure = _following(iterator)
    helper = _Helper() if upcoming is not None and _helper_wanted() else None
    try:
        while current is not None:
            parsed = helper.collect(current) if helper else _parse_here(current)
            if helper and upcoming is not None:
                helper.start_on(upcoming)
            yield current, parsed, helper.writer() if helper else None
            if failure is not None:  # reading the next batch failed (e.g. the mailbox went away)
                raise failure
            current = upcoming
            upcoming, failure = _following(iterator) if current is not None else (None, None)
    finally:
        if helper:
            helper.close()


def _following(iterator: Iterator[list[T]]) -> tuple[list[T] | None, Exception | None]:
    """The next batch, or what reading it raised: raised only after the batch before is filed."""
    try:
        return next(iterator, None), None
    except Exception as exc:
        return None, exc


def _helper_wanted() -> bool:
    return bool(settings.DESK_INTAKE_PARSE_AHEAD) and _usable_cpus() > 1


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The helper's program. It imports only what it runs: the packages around it are registered
# empty, so their __init__ does not run there (helpdesk's starts the Celery app, ~0.4 s).
_BOOT = """
import sys, types
for name, path in (("helpdesk", sys.argv[3]), ("helpdesk.intake", sys.argv[4])):
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from multiprocessing.connection import Connection
from helpdesk.intake import helper
helper.serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
"""


class _Helper:
    """One spawned process and two pipes; requests are answered in the order they were sent."""

    def __init__(self) -> None:
        self.ready = self.failed = False
        self.sent = 0
        self.answers: dict[int, Any] = {}  # received before they were asked for
        self.parse_request: int | None = None
        theirs_in, mine_out = os.pipe()
        mine_in, theirs_out = os.pipe()
        packages = [os.path.dirname(str(module.__file__)) for module in (helpdesk, helpdesk.intake)]
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
            [sys.executable, "-c", _BOOT, str(theirs_in), str(theirs_out), *packages],
            pass_fds=(theirs_in, theirs_out), stdin=subprocess.DEVNULL, stdout=_error_output())
        os.close(theirs_in)
        os.close(theirs_out)
        self.to_helper = Connection(mine_out, readable=False)
        self.from_helper = Connection(mine_in, writable=False)
        try:
            self.to_helper.send(intake_config())
        except OSError:
            self.give_up()

    def up(self) -> bool:
        """Whether it is up (it says "ready" once started) and has not failed."""
        try:
            if not self.failed and not self.ready and self.from_helper.poll():
                self.ready = self.from_helper.recv() == "ready"
        except Exception:
            self.give_up()
        return self.ready and not self.failed

    def request(self, kind: str, payload: Any) -> int:
        self.to_helper.send((kind, payload))
        self.sent += 1
        return self.sent

    def answer(self, number: int) -> Any:
        """The answer to request ``number`` (others that come first are kept for their askers: the
        helper answers writes before a parse it is busy with)."""
        while number not in self.answers:
            answered, answer = self.from_helper.recv()
            self.answers[answered] = answer
        return self.answers.pop(number)

    def start_on(self, batch: list[T]) -> None:
        """Parse ``batch`` over there, if the helper is up (until then, this process parses)."""
        if self.up():
            try:
                self.parse_request = self.request("parse", [item[0] for item in batch])
            except Exception:
                self.give_up()

    def collect(self, batch: list[T]) -> Parsed:
        """``batch`` parsed: by the helper if it was given it, else here."""
        number, self.parse_request = self.parse_request, None
        if number is None or self.failed:
            return _parse_here(batch)
        try:
            results: list[ParsedEmail | Unparsed] = self.answer(number)
            if len(results) != len(batch):
                raise ValueError(f"the helper answered {len(results)} mails for {len(batch)}")
        except Exception:
            self.give_up()
            return _parse_here(batch)
        return [verdict(result, item[1]) for result, item in zip(results, batch, strict=True)]

    def writer(self) -> _Writer | None:
        return _Writer(self) if self.up() else None

    def give_up(self) -> None:
        if not self.failed:
            logger.warning("the intake helper process failed; parsing and writing here from now on",
                           exc_info=True)
        self.failed = True

    def close(self) -> None:
        if self.ready and not self.failed:  # a helper still starting up is not waited for
            try:
                self.to_helper.send(None)
                self.process.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.to_helper.close()
        self.from_helper.close()


class _Writer:
    """Hands a transaction's new files to the helper, a few at a time (a :class:`FileWriter`)."""

    CHUNK = 16  # files per request: fewer messages, yet the helper starts on them early

    def __init__(self, helper: _Helper) -> None:
        self.helper = helper
        self.files: list[tuple[str, bytes, int | None, int | None]] = []
        self.requests: list[int] = []

    def write(self, path: str, data: bytes, file_mode: int | None, directory_mode: int | None) -> None:
        if self.helper.failed:  # it failed meanwhile: what this transaction sent is checked in wait()
            write_new_file(path, data, file_mode=file_mode, directory_mode=directory_mode)
            return
        self.files.append((path, data, file_mode, directory_mode))
        if len(self.files) >= self.CHUNK:
            self._send()

    def wait(self) -> None:
        if self.files:
            self._send()
        requests, self.requests = self.requests, []
        error = None
        for number in requests:  # every answer is read (others that arrive first are kept for their askers)
            try:
                error = self.helper.answer(number) or error
            except Exception as exc:
                self.helper.give_up()
                raise OSError(f"the intake helper process failed: {exc!r}") from exc
        if error is not None:
            raise OSError(f"the intake helper could not write: {error}")

    def _send(self) -> None:
        files, self.files = self.files, []
        try:
            self.requests.append(self.helper.request("write", files))
        except Exception:
            self.helper.give_up()
            for path, data, file_mode, directory_mode in files:
                write_new_file(path, data, file_mode=file_mode, directory_mode=directory_mode)


def _error_output() -> int:
    """Where the helper's standard output goes: never this process's stdout, which carries
    ``ingest_email``'s JSON lines, but its stderr."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. replaced by an object without a descriptor
        return subprocess.DEVNULL


def _parse_here(batch: list[T]) -> Parsed:
    return [parse(item[0], source=item[1]) for item in batch]
