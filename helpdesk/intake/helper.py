"""The program of intake's helper process (started by :mod:`helpdesk.intake.ahead`): pure, no Django.

It answers requests in the order they arrive: ``("parse", [raw, …])`` with the parsed mails
(:func:`~helpdesk.intake.email.many.parse_many`), ``("write", [(path, data, file mode, directory
mode), …])`` with ``None`` once the files exist, or the error that stopped it. A reader thread
takes requests off the pipe as soon as they are sent, so the filing process never waits to hand
one over while this one is busy with the previous.
"""

from __future__ import annotations

import queue
import threading
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
        while (request := requests.get()) is not None:
            kind, payload = request
            outbox.send(parse_many(payload, config) if kind == "parse" else _write(payload))
    except (EOFError, OSError):
        pass  # the parent is gone


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
