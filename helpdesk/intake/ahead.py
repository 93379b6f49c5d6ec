"""Parsing the next batch of mail in a helper process while this one is written.

Writing a batch waits on the database and the disk; parsing is pure CPU (about a sixth of a bulk
run). A helper *process* parses batch k+1 on another core while this one writes batch k. Threads
were tried and were slower: after every database round trip the writing thread waited for the
parser to hand back the GIL.

The helper is a freshly spawned interpreter (not a fork of this one, which holds database
connections and maybe threads) that imports only the pure parser. Until it has started (~0.2 s)
this process parses the batches itself, so a short run never waits for it; with a single batch
(≤ ``BATCH_SIZE`` mails, e.g. one MTA delivery) none is started. If it fails in any way, the batch
is parsed here, as it would have been without it; a failure cannot lose or change a mail.
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

logger = logging.getLogger(__name__)

__all__ = ["parsed_ahead"]

T = TypeVar("T", bound=tuple[Any, ...])
Parsed = list[ParsedEmail | Quarantine]


def parsed_ahead(batches: Iterable[list[T]]) -> Iterator[tuple[list[T], Parsed]]:
    """Each ``[(raw, source, …), …]`` batch with its mails parsed, in order.

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
            yield current, parsed
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


# The helper's program. It imports only the pure parser package: the packages around it are
# registered empty, so their __init__ does not run there (helpdesk's starts the Celery app, ~0.4 s).
_BOOT = """
import sys, types
for name, path in (("helpdesk", sys.argv[3]), ("helpdesk.intake", sys.argv[4])):
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from multiprocessing.connection import Connection
from helpdesk.intake.email import many
many.serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
"""


class _Helper:
    """One spawned process and a pipe to it; the batch it was given is collected by :meth:`collect`."""

    def __init__(self) -> None:
        self.ready = self.busy = self.failed = False
        # Its own interpreter running the parser module (no copy of this process, its connections
        # or its threads); two pipes carry pickled batches there and parsed mails back.
        theirs_in, self.outbox = os.pipe()
        self.inbox, theirs_out = os.pipe()
        packages = [os.path.dirname(str(module.__file__)) for module in (helpdesk, helpdesk.intake)]
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
            [sys.executable, "-c", _BOOT, str(theirs_in), str(theirs_out), *packages],
            pass_fds=(theirs_in, theirs_out), stdin=subprocess.DEVNULL)
        os.close(theirs_in)
        os.close(theirs_out)
        self.to_helper = Connection(self.outbox, readable=False)
        self.from_helper = Connection(self.inbox, writable=False)
        try:
            self.to_helper.send(intake_config())
        except OSError:
            self._give_up()

    def start_on(self, batch: list[T]) -> None:
        """Parse ``batch`` over there, if the helper is up (until then, this process parses)."""
        try:
            if not self.failed and not self.ready and self.from_helper.poll():
                self.ready = self.from_helper.recv() == "ready"
            if self.ready and not self.failed:
                self.to_helper.send([item[0] for item in batch])
                self.busy = True
        except Exception:
            self._give_up()

    def collect(self, batch: list[T]) -> Parsed:
        """``batch`` parsed: by the helper if it was given it, else here."""
        if not self.busy:
            return _parse_here(batch)
        self.busy = False
        try:
            results: list[ParsedEmail | Unparsed] = self.from_helper.recv()
            if len(results) != len(batch):
                raise ValueError(f"the helper answered {len(results)} mails for {len(batch)}")
        except Exception:
            self._give_up()
            return _parse_here(batch)
        return [verdict(result, item[1]) for result, item in zip(results, batch, strict=True)]

    def _give_up(self) -> None:
        logger.warning("the parsing helper process failed; parsing here from now on", exc_info=True)
        self.failed = True
        self.busy = False

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


def _parse_here(batch: list[T]) -> Parsed:
    return [parse(item[0], source=item[1]) for item in batch]
