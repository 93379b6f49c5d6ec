"""Raw mail kept in the database: the rows of :class:`StoredFile`, behind a Django storage.

Every mail intake files is kept as received (the evidence behind a ticket), ~1.5 KB on average and
at most ``DESK_MAIL_MAX_BYTES`` (larger mail is quarantined, and quarantined mail stays a file).
One file per mail made intake depend on the file system: on a busy disk a new file cost up to
0.8 ms, more than filing the mail's rows (issue 14). As rows they are written with the message in
the same transaction (one statement per batch), so a rollback leaves nothing behind, and they are
deleted in the transaction that erases or purges their message.

``Message.raw_message`` stays a ``FileField`` with this storage, so downloads, erasure and
retention use the storage API as before. Raw mail stored as files before this storage existed is
still read (and deleted) from the private file storage under the same names: nothing needs to be
moved. Migrating back (``helpdesk`` 0012) writes every row out as that file first.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import connections, models, router
from django.db.models.functions import Length
from django.utils.deconstruct import deconstructible

__all__ = ["DatabaseStorage", "StoredFile", "raw_mail_storage"]


class StoredFile(models.Model):
    """One stored file's bytes under its storage name."""

    name = models.CharField(max_length=200, primary_key=True)
    content = models.BinaryField()

    def __str__(self) -> str:
        return self.name


@deconstructible(path="helpdesk.models.stored_files.DatabaseStorage")
class DatabaseStorage(Storage):
    """A storage whose files are :class:`StoredFile` rows; names it does not hold are looked up in
    ``fallback``, the private file storage (files stored before).

    Written inside a transaction, a file is committed or rolled back with it. Names are given by
    the field's ``upload_to`` (random, 128 bits), so the primary key is the whole collision check.
    """

    def __init__(self, location: str | None = None) -> None:
        # As the default storage (DESK_FILE_STORAGE=database) the files stored before lie under
        # ``location``; as raw mail's storage they lie in whatever the default storage is.
        self.location = location

    @property
    def fallback(self) -> Storage:
        if self.location is not None:
            return _file_system(self.location)
        return default_storage  # looked up each time: tests and settings may swap it

    # --- writing ---------------------------------------------------------------------------
    def insert(self, files: Iterable[tuple[str, bytes]]) -> None:
        """New files ``(name, bytes)``, one statement (an existing name raises IntegrityError)."""
        rows = list(files)
        if not rows:
            return
        alias = router.db_for_write(StoredFile)
        connection = connections[alias]
        with connection.cursor() as cursor:
            if _copies(connection):  # psycopg writes COPY rows in C; no SQL text of the bytes is built
                with connection.wrap_database_errors, cursor.cursor.copy(_copy_statement(alias)) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:  # SQLite runs executemany's rows in C, one prepared statement
                cursor.executemany(_insert_statement(alias), rows)

    def _save(self, name: str, content: Any) -> str:
        self.insert([(name, b"".join(content.chunks()))])  # chunks() reads from the start
        return name

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # upload_to gives random names: a clash raises at insert rather than being probed for.
        return name

    # --- reading ---------------------------------------------------------------------------
    def _open(self, name: str, mode: str = "rb") -> IO[Any]:
        content = self._content(name)
        if content is None:
            return self.fallback.open(name, mode)
        return ContentFile(content, name=name)

    def exists(self, name: str) -> bool:
        return StoredFile.objects.filter(name=name).exists() or self.fallback.exists(name)

    def size(self, name: str) -> int:
        size = StoredFile.objects.filter(name=name).values_list(Length("content"), flat=True).first()
        return int(size) if size is not None else self.fallback.size(name)

    def path(self, name: str) -> str:
        """Where a file stored before this storage lies (what erasure overwrites before deleting);
        a row has no path."""
        if StoredFile.objects.filter(name=name).exists():
            raise NotImplementedError(f"{name} is kept in the database, not as a file")
        return self.fallback.path(name)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("raw mail is served only through permission-checked views")

    def _content(self, name: str) -> bytes | None:
        row = StoredFile.objects.filter(name=name).values_list("content", flat=True).first()
        return bytes(row) if row is not None else None

    # --- deleting --------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        self.delete_rows([name])
        self.fallback.delete(name)

    def delete_rows(self, names: Iterable[str]) -> int:
        """Delete the rows only (inside the caller's transaction); files stored before are left to
        the caller, after its commit."""
        names = [name for name in names if name]
        deleted = 0
        for start in range(0, len(names), 500):
            deleted += StoredFile.objects.filter(name__in=names[start:start + 500]).delete()[0]
        return deleted


def _copies(connection: Any) -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # imports the driver: PostgreSQL only

    return bool(is_psycopg3)


@cache
def _file_system(location: str) -> Storage:
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage(location=location)


@cache
def _insert_statement(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    return f"INSERT INTO {quote(StoredFile._meta.db_table)} ({quote('name')}, {quote('content')}) VALUES (%s, %s)"  # noqa: S608


@cache
def _copy_statement(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    return f"COPY {quote(StoredFile._meta.db_table)} ({quote('name')}, {quote('content')}) FROM STDIN"


_RAW_MAIL_STORAGE = DatabaseStorage()


def raw_mail_storage() -> DatabaseStorage:
    """The storage of raw mail (a callable, so migrations name it rather than serialise it)."""
    return _RAW_MAIL_STORAGE
