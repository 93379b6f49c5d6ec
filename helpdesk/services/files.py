"""Stored files of rolled-back work: files go to storage before the rows naming them are inserted,
so a rollback would otherwise leave them behind."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import transaction
from django.db.models.fields.files import FieldFile

from helpdesk.models.stored_files import DatabaseStorage
from helpdesk.newfile import write_new_file

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


_database_files: ContextVar[dict[DatabaseStorage, list[tuple[str, bytes]]] | None] = ContextVar(
    "database_files", default=None)


@contextmanager
def database_files_together() -> Iterator[None]:
    """:func:`store_new_file` into a :class:`DatabaseStorage` inside this block inserts the rows at
    its end, one statement per storage (a batch of mail: one INSERT instead of one per mail).
    Nothing is inserted if the block raises."""
    pending: dict[DatabaseStorage, list[tuple[str, bytes]]] = {}
    token = _database_files.set(pending)
    try:
        yield
    finally:
        _database_files.reset(token)
    for storage, files in pending.items():
        storage.insert(files)


def store_new_file(field_file: FieldFile, filename: str, data: bytes) -> None:
    """``field_file.save(filename, ContentFile(data), save=False)`` and :func:`remember_file`.

    In a :class:`DatabaseStorage` (raw mail) the bytes are a row of the caller's transaction, so
    nothing is left to remove if it rolls back.

    On the local file system the bytes are written straight to the name ``upload_to`` gives: those
    names are random (128 bits), so ``O_EXCL`` is the whole collision check, and Django's probing
    for a free name, chunked copy and lock cost intake ~0.3 ms a file (most of its file time).
    """
    storage = field_file.storage
    if isinstance(storage, DatabaseStorage):  # a row: it commits or rolls back with the transaction
        name = field_file.field.generate_filename(field_file.instance, filename)
        pending = _database_files.get()
        if pending is not None:
            pending.setdefault(storage, []).append((name, data))
        else:
            storage.insert([(name, data)])
        _set_name(field_file, name)  # nothing to remember: no file is left behind by a rollback
        return
    # Any other storage saves its own way (__class__, not type(): default_storage is a proxy).
    if storage.__class__ is not FileSystemStorage:
        field_file.save(filename, ContentFile(data), save=False)
        remember_file(field_file)
        return
    name = field_file.field.generate_filename(field_file.instance, filename)
    write_new_file(storage.path(name), data, file_mode=storage.file_permissions_mode,
                   directory_mode=storage.directory_permissions_mode)
    _set_name(field_file, name)
    remember_file(field_file)


def _set_name(field_file: FieldFile, name: str) -> None:
    field_file.name = name
    setattr(field_file.instance, field_file.field.attname, name)  # as FieldFile.save does
