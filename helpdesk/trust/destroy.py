"""Destroying stored files so they cannot be reproduced: retention, erasure and fulfilment use it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from django.core.files.storage import Storage
from django.db import transaction

from helpdesk.models import DatabaseStorage

logger = logging.getLogger(__name__)


def destroy_stored_file(storage: Storage, name: str | None) -> bool:
    """Overwrite a stored file with zeros, then delete it ("in a manner that prevents reproduction").

    Overwriting is best effort: copy-on-write filesystems and SSDs may keep old blocks, which is
    why docs/production.md asks for an encrypted volume. Returns whether a file was removed.
    """
    if not name:
        return False
    try:
        path = storage.path(name)
    except NotImplementedError:  # remote storage: deleting is all it offers
        path = None
    try:
        if path and os.path.isfile(path):
            size = os.path.getsize(path)
            with open(path, "r+b") as handle:
                chunk = b"\0" * 65536
                remaining = size
                while remaining > 0:
                    handle.write(chunk[: min(remaining, len(chunk))])
                    remaining -= len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        existed = storage.exists(name)
        storage.delete(name)
        return existed
    except OSError:
        logger.exception("could not destroy stored file", extra={"file": name})
        return False


def destroy_after_commit(files: Iterable[tuple[Storage, str | None]]) -> None:
    """Files go only once the rows that point at them are gone for good.

    Files kept as database rows (raw mail, :class:`DatabaseStorage`) are deleted now, in the same
    transaction as the rows naming them; a file stored under such a name before (the storage's
    file-system fallback) is destroyed after the commit like any other."""
    pending: list[tuple[Storage, str]] = []
    in_rows: dict[DatabaseStorage, list[str]] = {}
    for storage, name in files:
        if not name:
            continue
        if isinstance(storage, DatabaseStorage):
            in_rows.setdefault(storage, []).append(name)
            storage = storage.fallback
        pending.append((storage, name))
    for database_storage, names in in_rows.items():
        database_storage.delete_rows(names)
    if pending:
        transaction.on_commit(lambda: [destroy_stored_file(storage, name) for storage, name in pending])
