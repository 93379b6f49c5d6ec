"""The SQL driver of :mod:`helpdesk.fulfilment.connectors` (SQLAlchemy Core, loaded on first use)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Integer, MetaData, Numeric, String, Table, create_engine, delete, func, inspect, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.pool import NullPool

from helpdesk.fulfilment.config import SourceConfig, TableConfig
from helpdesk.fulfilment.connectors import MAX_RECORDS_PER_TABLE, SourceError, TableFound, jsonable, redact


def _describe(exc: BaseException, source: SourceConfig) -> str:
    if isinstance(exc, SQLAlchemyError):
        original = getattr(exc, "orig", None)
        text = f"{type(original or exc).__name__}: {original or exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(text, _secrets(source))


def _secrets(source: SourceConfig) -> Iterable[str]:
    for url in (source.url, source.erase_url):
        if url:
            password = make_url(url).password
            if password:
                yield str(password)


class SqlConnector:
    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def _engine(self, url: str) -> Engine:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend == "postgresql":
            connect_args = {
                "connect_timeout": max(1, math.ceil(self.source.connect_timeout)),
                "options": f"-c statement_timeout={int(self.source.statement_timeout * 1000)}",
            }
        elif backend == "sqlite":
            database = parsed.database or ""
            # SQLite would silently create an empty file for a wrong path.
            if database and database != ":memory:" and not database.startswith("file:") and not Path(database).exists():
                raise SourceError(f"SQLite database file {database} does not exist")
            connect_args = {"timeout": self.source.statement_timeout}
        elif backend in ("mysql", "mariadb"):
            connect_args = {"connect_timeout": max(1, math.ceil(self.source.connect_timeout)),
                            "read_timeout": max(1, math.ceil(self.source.statement_timeout))}
        # No pool: a lookup is rare and a dead connection must not be reused by the next one.
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)

    @contextmanager
    def _connected(self, url: str) -> Iterator[Engine]:
        """The source's engine; any failure becomes a SourceError without secrets; disposed after."""
        engine = self._engine(url)
        try:
            yield engine
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(_describe(exc, self.source)) from exc
        finally:
            engine.dispose()

    def _reflect(self, conn: Connection, tables: Iterable[TableConfig]) -> dict[str, Table]:
        wanted = list(tables)
        inspector = inspect(conn)
        existing = set(inspector.get_table_names()) | set(inspector.get_view_names())
        for cfg in wanted:
            if cfg.name not in existing:
                raise SourceError(f"table '{cfg.name}' does not exist in source '{self.source.name}'")
        metadata = MetaData()
        with warnings.catch_warnings():  # e.g. lower(email) indexes: fine, we only need the columns
            warnings.simplefilter("ignore", SAWarning)
            metadata.reflect(bind=conn, only=[cfg.name for cfg in wanted], views=True)
        reflected = {cfg.name: metadata.tables[cfg.name] for cfg in wanted}
        for cfg in wanted:
            columns = set(reflected[cfg.name].c.keys())
            named = [cfg.match, *(cfg.export or ()), *cfg.touched_columns]
            missing = [name for name in named if name not in columns]
            if missing:
                raise SourceError(f"table '{cfg.name}' in source '{self.source.name}' has no column(s) "
                                  f"{', '.join(missing)}")
        return reflected

    def find(self, email: str) -> list[TableFound]:
        address = email.strip().lower()
        found = []
        with self._connected(self.source.url) as engine, engine.connect() as conn:
            tables = self._reflect(conn, self.source.tables)
            for cfg in self.source.tables:
                table = tables[cfg.name]
                columns = [table.c[name] for name in cfg.export] if cfg.export else list(table.c)
                statement = (select(*columns).where(func.lower(table.c[cfg.match]) == address)
                             .limit(MAX_RECORDS_PER_TABLE + 1))
                rows = [{key: jsonable(value) for key, value in row.items()}
                        for row in conn.execute(statement).mappings()]
                found.append(TableFound(
                    name=cfg.name, records=rows[:MAX_RECORDS_PER_TABLE], erase=cfg.erase,
                    keep_reason=cfg.keep_reason, truncated=len(rows) > MAX_RECORDS_PER_TABLE,
                ))
        return found

    def _blank(self, table: Table, name: str) -> Any:
        column = table.c[name]
        if column.nullable:
            return None
        if isinstance(column.type, String):
            return ""
        if isinstance(column.type, Boolean):
            return False
        if isinstance(column.type, Integer | Numeric):
            return 0
        raise SourceError(f"column '{name}' of '{table.name}' is NOT NULL and not text or a number: "
                          "it cannot be anonymised; choose erase = 'delete' or another column")

    def erase_table(self, email: str, cfg: TableConfig) -> int:
        """Delete, anonymise or set the table's matching rows in one transaction; rows affected."""
        address = email.strip().lower()
        with self._connected(self.source.erase_url or self.source.url) as engine, engine.begin() as conn:
            table = self._reflect(conn, [cfg])[cfg.name]
            where = func.lower(table.c[cfg.match]) == address
            if cfg.erase == "delete":
                result = conn.execute(delete(table).where(where))
            elif cfg.erase == "anonymize":
                values = {name: self._blank(table, name) for name in cfg.anonymize}
                result = conn.execute(sql_update(table).where(where).values(**values))
            elif cfg.erase == "set":
                result = conn.execute(sql_update(table).where(where).values(**dict(cfg.set_values)))
            else:
                return 0
            return int(result.rowcount or 0)


def connector(source: SourceConfig) -> SqlConnector:
    return SqlConnector(source)
