"""Stored files of rolled-back work: files go to storage before the rows naming them are inserted,
so a rollback would otherwise leave them behind."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import Storage
from django.db import transaction

logger = logging.getLogger(__name__)

_written_files: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("written_files", default=None)


@contextmanager
def files_removed_on_error(keep: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Files the services store inside this block are deleted again if the block raises
    (unless ``keep()`` says the rows naming them were committed after all).

    Wrap a whole transaction in it. Nested blocks hand their files outwards.
    """
    written: list[tuple[Storage, str]] = []
    token = _written_files.set(written)
    try:
        yield
    except BaseException:
        if not keep():
            for storage, name in written:
                try:
                    storage.delete(name)
                except OSError:  # pragma: no cover - best effort
                    logger.warning("could not remove %s after a rollback", name)
        raise
    finally:
        _written_files.reset(token)
    outer = _written_files.get()
    if outer is not None:
        outer.extend(written)


@dataclass
class TransactionOutcome:
    committed: bool = False


@contextmanager
def atomic_removing_files() -> Iterator[TransactionOutcome]:
    """``transaction.atomic()`` that deletes the files stored inside it if it rolls back.

    Never once it has committed: an after-commit hook that fails (or a Ctrl-C while it mails)
    must not take the files of committed rows with it. The yielded outcome says which it was.
    """
    outcome = TransactionOutcome()
    with files_removed_on_error(keep=lambda: outcome.committed), transaction.atomic():
        # Registered first, so it runs before any other after-commit work of this transaction.
        transaction.on_commit(lambda: setattr(outcome, "committed", True))
        yield outcome


def remember_file(field_file: Any) -> None:
    """A file just stored for a row not yet committed: removed again if the block rolls back."""
    written = _written_files.get()
    if written is not None and field_file.name:
        written.append((field_file.storage, field_file.name))
