"""The program of intake's helper process (started by :mod:`helpdesk.intake.ahead`): pure, no Django.

It answers each request with ``(its number, the answer)``, requests numbered from 1 as they arrive:
``("parse", [raw, …])`` with the parsed mails (:func:`~helpdesk.intake.email.many.parse_many`),
``("write", [(path, data, file mode, directory mode), …])`` with ``None`` once the files exist, or
the error that stopped it. A reader thread takes requests off the pipe as soon as they are sent,
so the filing process never waits to hand one over while this one is busy with the previous.

Writes go first: the filing process waits for a batch's files before it commits, while the next
batch's parse is wanted only after that. So a parse is done a few mails at a time, and writes that
arrived meanwhile are answered in between (answers can therefore come out of order).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from helpdesk.intake.email.many import ParseSettings, parse_many
from helpdesk.newfile import write_new_file

__all__ = ["serve"]


def serve(inbox: Connection, outbox: Connection) -> None:
    """Receive the parse settings, say "ready", then answer requests until ``None`` or EOF."""
    try:
        config: ParseSettings = inbox.recv()
    except (EOFError, OSError):
        return
    requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_read, args=(inbox, requests), daemon=True).start()
    try:
        outbox.send("ready")
        _Server(requests, outbox, config).run()
    except (EOFError, OSError):
        pass  # the parent is gone


class _Server:
    PARSE_SLICE = 8  # mails parsed between two looks for waiting writes (~3 ms)

    def __init__(self, requests: queue.SimpleQueue[Any], outbox: Connection, config: ParseSettings) -> None:
        self.requests, self.outbox, self.config = requests, outbox, config
        self.numbered = 0
        self.later: deque[tuple[int, list[bytes]] | None] = deque()  # parses (and the end) that arrived mid-parse

    def run(self) -> None:
        while (request := self.later.popleft() if self.later else self._next(block=True)) is not None:
            number, raws = request
            parsed: list[Any] = []
            for start in range(0, len(raws), self.PARSE_SLICE):
                parsed.extend(parse_many(raws[start:start + self.PARSE_SLICE], self.config))
                self._answer_waiting_writes()
            self.outbox.send((number, parsed))

    def _answer_waiting_writes(self) -> None:
        try:
            while True:
                self.later.append(self._next(block=False))
        except queue.Empty:
            pass

    def _next(self, *, block: bool) -> tuple[int, list[bytes]] | None:
        """The next parse request, or None (the end), answering the writes that come before it.
        Without ``block``, raises queue.Empty once nothing is waiting."""
        while True:
            request = self.requests.get(block=block)
            if request is None:
                return None
            self.numbered += 1
            kind, payload = request
            if kind != "write":
                return self.numbered, payload
            self.outbox.send((self.numbered, _write(payload)))


def _read(inbox: Connection, requests: queue.SimpleQueue[Any]) -> None:
    try:
        while (request := inbox.recv()) is not None:
            requests.put(request)
    except (EOFError, OSError):
        pass
    requests.put(None)


def _write(files: list[tuple[str, bytes, int | None, int | None]]) -> str | None:
    for path, data, file_mode, directory_mode in files:
        try:
            write_new_file(path, data, file_mode=file_mode, directory_mode=directory_mode)
        except OSError as exc:
            return f"{path}: {type(exc).__name__}: {exc}"
    return None
