"""Inserting many new rows of one model: ``bulk_create`` without its per-value query building.

Mail intake writes ~9,000 rows per 2,000 mails (tickets, messages, attachments, acknowledgements,
audit events). ``QuerySet.bulk_create`` compiles every value into SQL on its own (expression
checks, one placeholder per value), which was a fifth of intake's time. Here each value is still
prepared by its field exactly as ``bulk_create`` prepares it (``pre_save`` then
``get_db_prep_save``), but the statement is built once per chunk size and the ids come back with
``RETURNING``, in the order of the rows (as ``bulk_create`` relies on too).

On PostgreSQL the rows go in with ``COPY … FROM STDIN``, their ids drawn from the table's sequence
just before (one ``SELECT nextval(…) FROM generate_series(1, n)``): psycopg writes COPY rows in C.
A statement with a placeholder per value is re-split by psycopg on every call (it caches only short
statements); one array per column (``INSERT … SELECT * FROM UNNEST(%s::type[], …)``, as Django 5.2's
own ``bulk_create`` does, and as this module still does to ignore conflicts) has every value quoted
into SQL text in Python, a tenth of a PostgreSQL intake run. A COPY that breaks a constraint raises
Django's ``IntegrityError`` like an INSERT, and fires the same triggers.

Only for plain new rows: no signals (neither does ``bulk_create``), a database-generated primary
key. ``ignore_conflicts=True`` skips rows that would break a unique constraint, as ``bulk_create``'s
does (and, like it, gives no ids back): intake adds a batch's new requesters that way, where
``bulk_create`` spent 4 % of a SQLite run building its placeholders value by value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    EmailField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SlugField,
    SmallAutoField,
    SmallIntegerField,
    TextField,
)
from django.db.models.constants import OnConflict

__all__ = ["insert_rows"]

FEW_ROWS = 8  # up to this many rows go in with one INSERT, more through COPY (PostgreSQL)

M = TypeVar("M", bound=Model)


def insert_rows(objs: Sequence[M], *, ignore_conflicts: bool = False) -> None:
    """``type(objs[0]).objects.bulk_create(objs)``: the rows are inserted and get their ids.

    ``ignore_conflicts``: ``bulk_create(objs, ignore_conflicts=True)``; rows that conflict with a
    stored one are left out, and no row gets its id (read them back by their unique key)."""
    if not objs:
        return
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields = _insert_fields(model)
    kinds = _plain_kinds(model)
    stored_datetime = _stored_datetime(connection)
    plain = _plain_numbers(connection)
    rows: list[list[Any]] = []
    ids: list[Any] = []
    for obj in objs:
        if obj.pk is not None:  # the id is the database's: a given one would be silently replaced
            raise ValueError(f"insert_rows() inserts new rows; a {type(obj).__name__} already has an id ({obj.pk})")
        _take_parent_ids(obj)
        row: list[Any] = []
        for field, kind in zip(fields, kinds, strict=True):
            # What the field's own preparation would give back, without its half-dozen calls.
            if kind is _TEXT:
                value = getattr(obj, field.attname)
                if value.__class__ is str:
                    row.append(value)
                    continue
            elif kind in plain:
                value = getattr(obj, field.attname)
                if value.__class__ is (bool if kind is _BOOLEAN else int):
                    row.append(value)
                    continue
            elif kind is _DATETIME and stored_datetime is not None:
                value = field.pre_save(obj, True)  # auto_now_add sets it here
                if value.__class__ is datetime and value.utcoffset() is not None:
                    row.append(stored_datetime(value))
                else:
                    row.append(field.get_db_prep_save(value, connection=connection))
                continue
            row.append(field.get_db_prep_save(field.pre_save(obj, True), connection=connection))
        rows.append(row)
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        # A few rows (one submission's audit events): one INSERT … RETURNING is one round trip where
        # COPY takes two (ids, then the rows) — inside the lock that opening tickets ends with (issue 31).
        copy_target = _copy_target(model, alias) if not ignore_conflicts and len(rows) > FEW_ROWS else None
        if copy_target is not None:
            ids = _copy(alias, cursor, rows, *copy_target)
        else:
            for statement, params in _statements(model, alias, rows, ignore_conflicts):
                cursor.execute(statement, params)
                if not ignore_conflicts:
                    ids.extend(row[0] for row in cursor.fetchall())
    if ignore_conflicts:
        return
    for obj, value in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, value)
        obj._state.adding = False
        obj._state.db = alias


def _take_parent_ids(obj: Model) -> None:
    """A parent saved after this row was built (``Attachment(message=message)`` before the message's
    INSERT) gives the row its id now, as ``save()`` and ``bulk_create`` do; an unsaved parent is an
    error. Only the public descriptor: with no id stored it returns the assigned parent (or None)
    without a query."""
    for field in _foreign_keys(type(obj)):
        if getattr(obj, field.attname) is None:
            parent = getattr(obj, field.name)
            if parent is None:
                continue
            if parent.pk is None:
                raise ValueError(f"insert_rows() of a {type(obj).__name__} whose {field.name} is not saved yet")
            setattr(obj, field.attname, getattr(parent, field.target_field.attname))


@cache
def _foreign_keys(model: type[Model]) -> list[ForeignKey[Any, Any]]:
    return [field for field in model._meta.concrete_fields if isinstance(field, ForeignKey)]


def _statements(model: type[Model], alias: str, rows: list[list[Any]], ignore_conflicts: bool
                ) -> Iterator[tuple[str, list[Any]]]:
    """The INSERTs for these prepared rows, with their parameters; ids RETURNING in row order (unless
    conflicts are ignored)."""
    unnest = _unnest_statement(model, alias, ignore_conflicts)
    if unnest is not None and len(rows) > 1:
        yield unnest, [list(column) for column in zip(*rows, strict=True)]
        return
    connection = connections[alias]
    per_statement = max(1, connection.ops.bulk_batch_size(_insert_fields(model), rows))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        yield _statement(model, alias, len(chunk), ignore_conflicts), [value for row in chunk for value in row]


def _copy(alias: str, cursor: Any, rows: list[list[Any]], sequence: str, copy_statement: str) -> list[Any]:
    """PostgreSQL: the rows through ``COPY … FROM STDIN``, with ids drawn from the table's sequence
    first (one statement), in row order. psycopg writes COPY rows in C; the one-array-per-column
    INSERT had every value turned into SQL text in Python (a tenth of a PostgreSQL intake run)."""
    cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(rows)])
    ids = sorted(row[0] for row in cursor.fetchall())
    with connections[alias].wrap_database_errors, cursor.cursor.copy(copy_statement) as copy:
        for id_, row in zip(ids, rows, strict=True):
            copy.write_row([id_, *row])
    return ids


@cache
def _copy_target(model: type[Model], alias: str) -> tuple[str, str] | None:
    """The id sequence and the COPY for ``model`` on PostgreSQL, if its rows can take it:
    an integer id from a sequence (an identity column), plain column types."""
    connection = connections[alias]
    pk = model._meta.pk
    if connection.vendor != "postgresql" or _unnest_statement(model, alias, False) is None or pk is None \
            or pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
        return None
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # imports the driver: PostgreSQL only

    if not is_psycopg3:  # psycopg2's COPY works otherwise: the INSERT then
        return None
    quote = connection.ops.quote_name
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [quote(table), pk.column])
        sequence: str | None = cursor.fetchone()[0]
    if sequence is None:
        return None
    columns = ", ".join(quote(str(field.column)) for field in [pk, *_insert_fields(model)])
    return sequence, f"COPY {quote(table)} ({columns}) FROM STDIN"


@cache
def _insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


# Preparing a value through its field costs ~1 µs (half a dozen calls), and intake inserts ~100,000
# values per 2,000 mails, most of them text and times. For fields of exactly these classes (not
# subclasses, which may prepare values their own way) the common values are passed on directly:
# a str in a text field as it is (pre_save reads the attribute, to_python keeps a str), an aware
# datetime as the backend adapts it (below). Anything else goes through the field.
_TEXT, _DATETIME, _BOOLEAN, _INTEGER, _KEY = "text", "datetime", "boolean", "integer", "key"
_TEXT_FIELD_CLASSES = (CharField, TextField, EmailField, SlugField)
_INTEGER_FIELD_CLASSES = (IntegerField, BigIntegerField, SmallIntegerField, PositiveIntegerField,
                          PositiveBigIntegerField, PositiveSmallIntegerField)
_AUTO_FIELD_CLASSES = (AutoField, BigAutoField, SmallAutoField)


@cache
def _plain_kinds(model: type[Model]) -> list[str | None]:
    return [_kind(field) for field in _insert_fields(model)]


def _kind(field: Field[Any, Any]) -> str | None:
    kind = field.__class__
    if kind in _TEXT_FIELD_CLASSES:
        return _TEXT
    if kind is DateTimeField:
        return _DATETIME
    if kind is BooleanField:  # to_python keeps a bool; no backend adapts it
        return _BOOLEAN
    if kind in _INTEGER_FIELD_CLASSES:  # get_prep_value's int() keeps an int; the backend may adapt it
        return _INTEGER
    if kind is ForeignKey and field.target_field.__class__ in _AUTO_FIELD_CLASSES:  # type: ignore[attr-defined]
        return _KEY  # an id: int() keeps it, then only validate_autopk_value
    return None


def _plain_numbers(connection: BaseDatabaseWrapper) -> frozenset[str]:
    """The number kinds whose int (bool) values this backend takes as they are: a bool always; an
    id unless the backend validates ids (MySQL); an integer unless it adapts them (psycopg 3 wraps
    them in its integer types)."""
    ops = type(connection.ops)
    kinds = {_BOOLEAN}
    if ops.validate_autopk_value is BaseDatabaseOperations.validate_autopk_value:
        kinds.add(_KEY)
    if ops.adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value:
        kinds.add(_INTEGER)
    return frozenset(kinds)


def _stored_datetime(connection: BaseDatabaseWrapper) -> Callable[[datetime], Any] | None:
    """What ``DateTimeField.get_db_prep_save`` gives for an aware datetime on this backend: as it is
    on PostgreSQL; on SQLite the text of its naive time in the connection's zone (make_naive, str).
    None on other backends, or without USE_TZ: their values go through the field."""
    adapt = type(connection.ops).adapt_datetimefield_value
    # Django's own methods, named rather than imported (importing the other backend's would load its driver).
    own = adapt.__qualname__ == "DatabaseOperations.adapt_datetimefield_value" and settings.USE_TZ
    if own and adapt.__module__ == "django.db.backends.postgresql.operations":
        return _as_it_is
    if own and adapt.__module__ == "django.db.backends.sqlite3.operations":
        zone = connection.timezone
        return lambda value: str(value.astimezone(zone).replace(tzinfo=None))
    return None


def _as_it_is(value: datetime) -> datetime:
    return value


@cache
def _statement(model: type[Model], alias: str, rows: int, ignore_conflicts: bool) -> str:
    row = "(" + ", ".join(["%s"] * len(_insert_fields(model))) + ")"
    return _insert(model, alias, f"VALUES {', '.join([row] * rows)}", ignore_conflicts)


@cache
def _unnest_statement(model: type[Model], alias: str, ignore_conflicts: bool) -> str | None:
    """The one-array-per-column INSERT on PostgreSQL, under the conditions Django's own uses it."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    fields = _insert_fields(model)
    columns = [getattr(field, "target_field", field) if field.is_relation else field for field in fields]
    if any(hasattr(field, "get_placeholder") for field in fields) or any(
            column.get_internal_type() not in connection.data_types for column in columns):
        return None  # e.g. array or geometry columns
    # The types without their parameters, as Django does it (varchar[], not varchar(50)[]).
    arrays = ", ".join(f"(%s)::{str(field.db_type(connection)).split('(')[0]}[]" for field in fields)
    return _insert(model, alias, f"SELECT * FROM UNNEST({arrays})",  # noqa: S608 (column types, not input)
                   ignore_conflicts)


def _insert(model: type[Model], alias: str, rows: str, ignore_conflicts: bool) -> str:
    """``INSERT INTO table (columns) <rows> RETURNING id``, or ignoring conflicts (no ids)."""
    connection = connections[alias]

    def quote(name: str | None) -> str:
        return str(connection.ops.quote_name(str(name)))

    pk = model._meta.pk
    assert pk is not None
    fields = _insert_fields(model)
    columns = ", ".join(quote(field.column) for field in fields)
    if ignore_conflicts:  # the backend's own words: INSERT OR IGNORE (SQLite), ON CONFLICT DO NOTHING
        ignore = OnConflict.IGNORE
        suffix = connection.ops.on_conflict_suffix_sql(fields, ignore, None, None)
        return (f"{connection.ops.insert_statement(on_conflict=ignore)} {quote(model._meta.db_table)} ({columns}) "
                f"{rows} {suffix}").rstrip()
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {rows} RETURNING {quote(pk.column)}"
